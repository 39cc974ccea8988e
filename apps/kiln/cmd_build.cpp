// kiln build MODEL [-o FILE] [--device cpu|cuda:N] [--precision fp32|fp16|tf32|int8]
//   [--batch N|MIN:OPT:MAX] [--imgsz N] [--workspace GB] [--force] [--skip-verify]
//   [--calib DATA] [--calib-images N] [--calib-method M] [--int8-exclude PATTERN]...
//   [--int8-target-drop X] [--cache-dir D] [--models-dir D] [--sign-key FILE] [--json]
//   [--quiet|--verbose]
// Builds an engine and prints a summary. Without -o the engine goes to the cache (and an
// existing one for the same model, options and environment is reused unless --force).
// With a signing key (--sign-key, else $KILN_ENGINE_KEY) the engine is signed with it.
// What happened (built, rebuilt, recorded without GPU plans) is said on stderr and listed
// in the summary's "events", as predict and val do.
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli_output.h"
#include "commands.h"
#include "core/file_util.h"
#include "core/json_text.h"
#include "engine/cache.h"
#include "engine/config.h"
#include "engine/model_names.h"
#include "option_flags.h"

namespace kiln::cli {

void add_sign_key_option(CLI::App& sub, std::string& value, const std::string& help) {
  sub.add_option("--sign-key", value, help + " (default $KILN_ENGINE_KEY; docs/SECURITY.md)");
}

namespace {

namespace fs = std::filesystem;

struct BuildArgs {
  std::string model, output, cache_dir, models_dir, sign_key;
  std::optional<std::string> device, precision, batch;
  std::optional<int64_t> imgsz;
  std::optional<double> workspace;
  bool force = false, skip_verify = false, json = false;
  Verbosity verbosity = Verbosity::kNormal;
  Int8Arguments int8;
};

// The events of a build: the engine built (on first use, forced, or to the -o file),
// rebuilt (the cached one was stale or damaged), or recorded for a GPU without plans
// because no GPU can run here (it is planned and verified when rebuilt on one).
void report_build(const fs::path& model, const fs::path& path, bool built, const std::string& reason,
                  const engine::EngineInfo& info, Messages& messages) {
  const engine::EngineMetadata& m = info.metadata;
  char took[32];
  std::snprintf(took, sizeof took, "%.1f s", m.build.build_seconds);
  if (!built) {
    messages.detail("engine cache hit: " + path.string());
  } else if (reason.empty() || reason == "first use" || reason == "forced") {  // CacheOutcome::reason
    if (reason == "first use") messages.detail("engine cache miss: no engine for " + model.string() + " with these options here");
    messages.event("built", "built engine " + path.string() + " from " + model.string() + " (" +
                                (reason.empty() ? "" : reason + ", ") + took + ")");
  } else {
    messages.event("rebuilt", "rebuilt engine " + path.string() + " from " + model.string() + " (" + reason + ", " + took + ")");
  }
  if (m.build.device.is_cuda() && info.plans.empty())
    messages.event("fallback", path.string() + ": " + m.build.verification_note);
  messages.tactics(path);
}

void print_summary(const fs::path& path, bool built, const engine::EngineInfo& info, const Messages& messages,
                   bool as_json) {
  const engine::EngineMetadata& m = info.metadata;
  if (as_json) {
    nlohmann::json j{{"engine", path.string()},
                     {"built", built},
                     {"size", info.file_size},
                     {"signature", engine::signature_state_name(info.signature)},
                     {"events", messages.events()},
                     {"metadata", engine::to_json(m)}};
    std::cout << json_text(j, 2) << std::endl;
    return;
  }
  std::ostringstream os;
  os << "engine     " << path.string() << (built ? "" : " (cached)") << "\n"
     << "size       " << std::fixed << std::setprecision(1) << static_cast<double>(info.file_size) / 1e6 << " MB\n"
     << "time       " << std::setprecision(2) << m.build.build_seconds << " s" << (built ? "" : " (when it was built)") << "\n"
     << "precision  " << to_string(m.build.precision) << ", batch " << m.build.batch.to_string() << ", imgsz " << m.model.imgsz_h << "x"
     << m.model.imgsz_w << ", device " << m.build.device.to_string() << "\n"
     << "signature  " << engine::signature_state_name(info.signature) << "\n"
     << "verify     ";
  if (m.build.max_relative_error) os << "max relative error " << std::scientific << std::setprecision(2) << *m.build.max_relative_error;
  else os << m.build.verification_note;
  if (const auto& int8 = m.build.int8) {
    size_t in_int8 = 0;
    for (const quant::LayerChoice& l : int8->layers) in_int8 += l.precision == quant::LayerPrecision::kInt8;
    os << (m.build.max_relative_error ? " (against FP32)" : "") << "\nint8       " << in_int8 << " of " << int8->layers.size()
       << " quantizable layers in INT8 (" << (int8->source == "calibration" ? int8->method + " calibration on " +
                                             std::to_string(int8->images) + " images" + (int8->calibration_reused ? ", reused" : "")
                                                                         : int8->source)
       << ")";
    if (!int8->sensitivity.empty()) os << "\nsensitivity " << int8->sensitivity;
    for (const quant::LayerChoice& l : int8->layers)
      if (l.precision == quant::LayerPrecision::kFloat) os << "\n  float " << l.node << ": " << l.reason;
  }
  std::cout << os.str() << std::endl;
}

int run_build(const BuildArgs& a) {
  auto model = engine::resolve_model(a.model, engine::models_dir(a.models_dir));
  if (!model.ok()) return report_error("build", model.status());
  engine::OptionOverrides o{a.device, a.precision, a.batch, a.imgsz, a.workspace};
  auto options = engine::resolve_build_options(nullptr, nullptr, o);
  if (!options.ok()) return report_error("build", options.status());
  options->verify = !a.skip_verify;
  auto key = engine::resolve_signing_key(a.sign_key, std::nullopt);
  if (!key.ok()) return report_error("build", key.status());
  options->signing_key = std::move(key).value();
  auto int8 = parse_int8_options(a.int8, options->precision == Precision::kInt8);
  if (!int8.ok()) return report_error("build", int8.status());
  options->int8 = *int8;
  options->calibration_cache_dir = engine::default_cache_dir(a.cache_dir, std::nullopt);
  Messages messages("build", a.verbosity);
  BuildProgress progress(messages);

  fs::path path;
  bool built = true;
  std::string reason;  // empty for -o
  if (!a.output.empty()) {
    if (Status st = check_output_path(a.output); !st.ok()) return report_error("build", st);
    auto report = engine::build_engine(*model, *options, a.output, progress.hook());
    if (!report.ok()) return report_error("build", report.status());
    path = report->path;
  } else {
    engine::Cache cache(engine::default_cache_dir(a.cache_dir, std::nullopt));
    auto outcome = cache.get_or_build(*model, *options, a.force, progress.hook());
    if (!outcome.ok()) return report_error("build", outcome.status());
    path = outcome->path;
    built = outcome->built;
    reason = outcome->reason;
  }
  progress.finish();
  auto info = engine::inspect_engine(path, options->signing_key ? &*options->signing_key : nullptr);
  if (!info.ok()) return report_error("build", info.status());
  report_build(*model, path, built, reason, *info, messages);
  print_summary(path, built, *info, messages, a.json);
  return kExitOk;
}

}  // namespace

Runner register_build(CLI::App& app) {
  auto a = std::make_shared<BuildArgs>();
  CLI::App* sub = app.add_subcommand("build", "Build an engine from an ONNX model (into the cache unless -o)");
  sub->add_option("model", a->model, "ONNX file, or a model name looked up in --models-dir")->required();
  sub->add_option("-o,--output", a->output, "Engine file to write (default: the cache)");
  sub->add_option("--device", a->device, "cpu | cuda:N (default cpu)");
  sub->add_option("--precision", a->precision,
                  "fp32 | fp16 | tf32 | int8 (default fp32; fp16 and tf32 need a GPU, int8 runs on the CPU)");
  sub->add_option("--batch", a->batch, "N or MIN:OPT:MAX (default 1)");
  sub->add_option("--imgsz", a->imgsz, "Input size (default: the model's)");
  sub->add_option("--workspace", a->workspace, "cap on the workspace a cuDNN / cuBLASLt tactic may use, GB (default 4)");
  add_int8_flags(*sub, a->int8);
  sub->add_flag("--force", a->force, "Rebuild even if the cache holds this engine");
  sub->add_flag("--skip-verify", a->skip_verify, "Do not compare the engine's output with the model's");
  sub->add_option("--cache-dir", a->cache_dir, "Engine cache (default $KILN_CACHE_DIR or ~/.cache/kiln)");
  sub->add_option("--models-dir", a->models_dir, "Where model names resolve (default $KILN_MODELS_DIR)");
  add_sign_key_option(*sub, a->sign_key, "Sign the engine with this secret key file (HMAC-SHA256)");
  sub->add_flag("--json", a->json, "Print the summary as JSON (with the events: built, rebuilt, fallback)");
  add_verbosity_flags(*sub, a->verbosity);
  return [a] { return run_build(*a); };
}

}  // namespace kiln::cli
