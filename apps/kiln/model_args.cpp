#include "model_args.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "engine/config.h"
#include "option_flags.h"
#include "eval/dataset.h"

namespace kiln::cli {

namespace {

namespace fs = std::filesystem;

// --on-mismatch prompt: asks on a terminal; without one the engine is not rebuilt.
bool ask_to_rebuild(const std::string& model, const std::string& reasons) {
  if (!::isatty(STDIN_FILENO) || !::isatty(STDERR_FILENO)) return false;
  std::cerr << model << " needs a rebuild (" << reasons << "). Rebuild? [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

// A bare word (no folder, no extension) that is not a file names a model in the config.
bool is_model_name(const std::string& arg) {
  const fs::path p(arg);
  return !p.has_parent_path() && !p.has_extension() && !fs::exists(p);
}

// --model NAME: the config's entry for NAME; its settings fill what the command line left
// unset.
Status apply_config_entry(ModelArgs& a) {
  const fs::path config = a.config.empty() ? fs::path("kiln.yaml") : fs::path(a.config);
  std::error_code ec;
  if (a.config.empty() && !fs::exists(config, ec))
    return error(StatusCode::kNotFound, a.model, ": no such file (and no kiln.yaml here to name a model; see --config)");
  KILN_ASSIGN_OR_RETURN(engine::Config c, engine::load_config(config));
  const engine::ModelConfig* entry = nullptr;
  std::string known;
  for (const engine::ModelConfig& m : c.models) {
    if (m.name == a.model) entry = &m;
    known += (known.empty() ? "" : ", ") + m.name;
  }
  if (!entry)
    return error(StatusCode::kNotFound, a.model, ": no such file, nor a model in ", config.string(), " (it has: ",
                 known.empty() ? "none" : known, ")");
  KILN_ASSIGN_OR_RETURN(fs::path source, engine::resolve_model_source(c, *entry, ""));
  // The entry is checked as a build from the file would check it (its int8 keys named as
  // kiln.yaml spells them), before its values become this run's flags.
  engine::OptionOverrides given;
  if (!a.device.empty()) given.device = a.device;
  if (!a.precision.empty()) given.precision = a.precision;
  if (Result<engine::BuildOptions> checked = engine::resolve_build_options(&c, entry, given); !checked.ok())
    return error(checked.status().code(), config.string(), ": ", checked.status().message());
  a.model = source.string();
  if (a.device.empty()) a.device = entry->device.value_or(c.device.value_or(""));
  if (a.precision.empty() && entry->precision) a.precision = *entry->precision;
  if (a.int8.calib.empty() && entry->calib) a.int8.calib = *entry->calib;
  if (!a.int8.calib_images) a.int8.calib_images = entry->calib_images;
  if (a.int8.method.empty() && entry->calib_method) a.int8.method = *entry->calib_method;
  if (a.int8.exclude.empty()) a.int8.exclude = entry->int8_exclude;
  if (!a.int8.target_drop) a.int8.target_drop = entry->int8_target_drop;
  if (a.imgsz == 0 && entry->imgsz) a.imgsz = static_cast<int>(*entry->imgsz);
  if (a.batch == 1 && entry->batch) {  // a MIN:OPT:MAX profile runs at OPT here
    Result<BatchProfile> batch = parse_batch_profile(*entry->batch);
    if (!batch.ok()) return error(batch.status().code(), config.string(), ": model '", entry->name, "': ", batch.status().message());
    a.batch = static_cast<int>(batch->opt);
  }
  if (a.cache_dir.empty() && c.cache_dir) a.cache_dir = c.cache_dir->string();
  a.engine_key = engine::signing_key_file("", c.engine_key).string();
  if (c.on_mismatch && a.on_mismatch == "auto") a.on_mismatch = *c.on_mismatch;
  return Status::Ok();
}

Result<std::vector<std::string>> parse_names(const std::string& arg) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) return eval::load_class_names(arg);
  std::vector<std::string> names;
  size_t start = 0;
  while (true) {
    const size_t comma = arg.find(',', start);
    names.push_back(arg.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (names.back().empty())
      return error(StatusCode::kInvalidArgument, "--names '", arg, "': neither a file nor a comma list of names");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
}

MismatchPolicy to_policy(const std::string& s) {
  return s == "fail" ? MismatchPolicy::kFail : s == "prompt" ? MismatchPolicy::kPrompt : MismatchPolicy::kAuto;
}

}  // namespace

void add_metadata_args(CLI::App& cmd, std::string& task, std::string& names) {
  cmd.add_option("--task", task, "the model's task when its metadata lacks it or is wrong")
      ->check(CLI::IsMember({"detect", "segment", "pose", "obb", "classify"}));
  cmd.add_option("--names", names, "class names: a file (yaml with names:, or one per line) or a comma list");
}

Status apply_metadata_args(const std::string& task, const std::string& names, ModelOptions& mo) {
  mo.task = task;
  if (!names.empty()) {
    KILN_ASSIGN_OR_RETURN(mo.names, parse_names(names));
  }
  return Status::Ok();
}

void add_model_args(CLI::App& cmd, ModelArgs& a, const std::string& model_help) {
  cmd.add_option("--model", a.model, model_help)->required();
  cmd.add_option("--config", a.config, "kiln.yaml naming models (default: ./kiln.yaml when --model is a name)");
  cmd.add_option("--device", a.device, "cpu | cuda | cuda:N (default: cpu; a .kiln runs where it was built)");
  add_metadata_args(cmd, a.task, a.names);
  cmd.add_option("--cache-dir", a.cache_dir, "engine cache folder (default: $KILN_CACHE_DIR or ~/.cache/kiln)");
  add_on_mismatch_option(cmd, a.on_mismatch);
  cmd.add_flag("--strict-gpu", a.strict_gpu, "fail instead of falling back to the CPU: no usable GPU for the model, or a video NVDEC cannot decode");
}

void report_load(const ModelInfo& info, const std::string& model, double seconds, Messages& messages) {
  if (!info.note.empty()) messages.event("fallback", info.note);
  if (info.engine_built) {
    char took[32];
    std::snprintf(took, sizeof took, "%.1f s", seconds);
    const bool first = info.build_reason == "first use";
    if (first) messages.detail("engine cache miss: no engine for " + model + " with these options here");
    messages.event(first ? "built" : "rebuilt",
                   (first ? "built engine " : "rebuilt engine ") + info.engine_path.string() + " from " + model + " (" +
                       (info.build_reason.empty() ? "" : info.build_reason) + (seconds >= 0 ? std::string(", ") + took : "") +
                       ")");
  } else if (!info.engine_path.empty()) {
    messages.detail(fs::path(model).extension() == ".kiln" ? "using engine " + info.engine_path.string()
                                                           : "engine cache hit: " + info.engine_path.string());
  }
  if (!info.engine_path.empty()) messages.tactics(info.engine_path);
  if (!info.metadata_note.empty()) messages.event("note", info.metadata_note);
}

Result<ResolvedModel> resolve_model_args(const ModelArgs& args) {
  ModelArgs a = args;
  if (is_model_name(a.model)) {
    KILN_RETURN_IF_ERROR(apply_config_entry(a));
  }
  const fs::path path(a.model);
  const std::string ext = path.extension().string();
  if (ext == ".pt" || ext == ".pth")
    return error(StatusCode::kUnsupported, a.model, ": a PyTorch checkpoint; kiln runs ONNX: export it first with "
                                                   "yolo export model=", a.model, " format=onnx");
  std::error_code ec;
  if (!fs::exists(path, ec)) return error(StatusCode::kNotFound, a.model, ": no such file");

  ResolvedModel out{a.model, {}};
  ModelOptions& mo = out.options;
  KILN_ASSIGN_OR_RETURN(mo.device, device_flag(a.device));
  KILN_RETURN_IF_ERROR(check_strict_gpu(a.strict_gpu, mo.device));
  KILN_ASSIGN_OR_RETURN(mo.precision, precision_flag(a.precision));
  KILN_ASSIGN_OR_RETURN(mo.int8, parse_int8_options(a.int8, mo.precision == Precision::kInt8));
  mo.batch = a.batch;
  mo.imgsz = a.imgsz;
  mo.cache_dir = a.cache_dir;
  mo.engine_key = a.engine_key;
  mo.on_mismatch = to_policy(a.on_mismatch);
  mo.confirm_rebuild = [model = a.model](const std::string& reasons) { return ask_to_rebuild(model, reasons); };
  mo.strict_gpu = a.strict_gpu;
  KILN_RETURN_IF_ERROR(apply_metadata_args(a.task, a.names, mo));
  return out;
}

Result<LoadedModel> load_model(const ModelArgs& args, Messages& messages) {
  KILN_ASSIGN_OR_RETURN(ResolvedModel resolved, resolve_model_args(args));
  BuildProgress progress(messages);
  resolved.options.progress = progress.hook();
  const auto t0 = std::chrono::steady_clock::now();
  Result<Model> loaded = Model::load(resolved.path, resolved.options);
  progress.finish();
  KILN_RETURN_IF_ERROR(loaded.status());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Model model = std::move(loaded).value();
  const ModelInfo& info = model.info();
  const std::string& name = resolved.path;
  const int imgsz = resolved.options.imgsz;

  report_load(info, name, seconds, messages);
  // A static engine runs at the size it was built for; another --imgsz would be ignored.
  if (imgsz > 0 && !info.dynamic_input && (info.imgsz_h != imgsz || info.imgsz_w != imgsz))
    return error(StatusCode::kInvalidArgument, "--imgsz ", imgsz, ": ", name, " is a static engine for ", info.imgsz_h,
                 "x", info.imgsz_w, " (build one for ", imgsz, " from a dynamic ONNX export: kiln build MODEL.onnx --imgsz ",
                 imgsz, ")");

  LoadedModel out{std::move(model), {}};
  const ModelInfo& i = out.model.info();
  out.json = {{"model", args.model},
              {"source", name},
              {"engine", i.engine_path.string()},
              {"task", i.task},
              {"device", i.device.to_string()},
              {"precision", std::string(to_string(i.precision))},
              {"imgsz", {i.imgsz_h, i.imgsz_w}},
              {"dynamic_input", i.dynamic_input},
              {"events", messages.events()}};
  return out;
}

}  // namespace kiln::cli
