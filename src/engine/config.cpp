#include "engine/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>

#include "core/file_util.h"
#include "engine/model_names.h"

namespace kiln::engine {

namespace fs = std::filesystem;

namespace {

class Parser {
 public:
  explicit Parser(fs::path path) : path_(std::move(path)) {}

  Status unknown(const std::string& key, const std::string& where, const char* valid) const {
    return error(StatusCode::kInvalidArgument, path_.string(), ": unknown key '", key, "'", where, " (valid: ", valid,
                 "; see docs/CONFIG.md)");
  }
  template <typename T> Result<T> get(const YAML::Node& node, const std::string& key) const {
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      return error(StatusCode::kInvalidArgument, path_.string(), ": '", key, "' has the wrong type (line ",
                   node.Mark().line + 1, ")");
    }
  }

  Result<ModelConfig> model(const std::string& name, const YAML::Node& node) const {
    if (!node.IsMap()) return error(StatusCode::kInvalidArgument, path_.string(), ": model '", name, "' must be a mapping");
    ModelConfig m;
    m.name = name;
    for (const auto& kv : node) {
      std::string key = kv.first.as<std::string>();
      std::string full = "models." + name + "." + key;
      if (key == "source") { KILN_ASSIGN_OR_RETURN(m.source, get<std::string>(kv.second, full)); }
      else if (key == "imgsz") { KILN_ASSIGN_OR_RETURN(m.imgsz, get<int64_t>(kv.second, full)); }
      else if (key == "precision") { KILN_ASSIGN_OR_RETURN(m.precision, get<std::string>(kv.second, full)); }
      else if (key == "batch") { KILN_ASSIGN_OR_RETURN(m.batch, get<std::string>(kv.second, full)); }
      else if (key == "workspace") { KILN_ASSIGN_OR_RETURN(m.workspace_gb, get<double>(kv.second, full)); }
      else if (key == "device") { KILN_ASSIGN_OR_RETURN(m.device, get<std::string>(kv.second, full)); }
      else if (key == "calib") {
        KILN_ASSIGN_OR_RETURN(std::string calib, get<std::string>(kv.second, full));
        m.calib = resolve_config_path(calib, path_.parent_path()).string();
      }
      else if (key == "calib_images") { KILN_ASSIGN_OR_RETURN(m.calib_images, get<int64_t>(kv.second, full)); }
      else if (key == "calib_method") { KILN_ASSIGN_OR_RETURN(m.calib_method, get<std::string>(kv.second, full)); }
      else if (key == "int8_exclude") {
        if (kv.second.IsSequence()) { KILN_ASSIGN_OR_RETURN(m.int8_exclude, get<std::vector<std::string>>(kv.second, full)); }
        else { KILN_ASSIGN_OR_RETURN(std::string one, get<std::string>(kv.second, full)); m.int8_exclude = {one}; }
      }
      else if (key == "int8_target_drop") { KILN_ASSIGN_OR_RETURN(m.int8_target_drop, get<double>(kv.second, full)); }
      else return unknown(key, " in model '" + name + "'",
                          "source, imgsz, precision, batch, workspace, device, calib, calib_images, calib_method, "
                          "int8_exclude, int8_target_drop");
    }
    if (m.source.empty()) return error(StatusCode::kInvalidArgument, path_.string(), ": model '", name, "' has no source");
    return m;
  }

  Result<Config> config(const YAML::Node& root) const {
    Config c;
    c.path = path_;
    if (root.IsNull()) return c;
    if (!root.IsMap()) return error(StatusCode::kInvalidArgument, path_.string(), ": expected a mapping at the top level");
    fs::path base = path_.parent_path();
    for (const auto& kv : root) {
      std::string key = kv.first.as<std::string>();
      if (key == "cache_dir" || key == "models_dir" || key == "engine_key") {
        KILN_ASSIGN_OR_RETURN(std::string s, get<std::string>(kv.second, key));
        (key == "cache_dir" ? c.cache_dir : key == "models_dir" ? c.models_dir : c.engine_key) = resolve_config_path(s, base);
      } else if (key == "on_mismatch") {
        KILN_ASSIGN_OR_RETURN(c.on_mismatch, get<std::string>(kv.second, key));
      } else if (key == "device") {
        KILN_ASSIGN_OR_RETURN(c.device, get<std::string>(kv.second, key));
      } else if (key == "models") {
        if (!kv.second.IsMap()) return error(StatusCode::kInvalidArgument, path_.string(), ": 'models' must be a mapping of name -> settings");
        for (const auto& m : kv.second) {
          KILN_ASSIGN_OR_RETURN(ModelConfig mc, model(m.first.as<std::string>(), m.second));
          c.models.push_back(std::move(mc));
        }
      } else if (key == "pipelines") {
        KILN_ASSIGN_OR_RETURN(c.pipelines, parse_pipelines(kv.second, path_));
      } else {
        return unknown(key, "", "cache_dir, models_dir, engine_key, on_mismatch, device, models, pipelines");
      }
    }
    return c;
  }

 private:
  fs::path path_;
};

}  // namespace

fs::path resolve_config_path(const std::string& text, const fs::path& base) {
  if (text.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    return fs::path(home ? home : "") / text.substr(2);
  }
  fs::path p(text);
  return p.is_absolute() ? p : base / p;
}

Result<Config> load_config(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return error(StatusCode::kNotFound, path.string(), ": no such file");
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path));
  return parse_config(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

Result<Config> parse_config(std::string_view yaml, const fs::path& path) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return error(StatusCode::kCorrupt, path.string(), ": invalid YAML: ", e.msg, " (line ", e.mark.line + 1, ")");
  }
  try {
    std::error_code ec;
    return Parser(fs::absolute(path, ec)).config(root);
  } catch (const YAML::Exception& e) {
    return error(StatusCode::kInvalidArgument, path.string(), ": ", e.msg);
  }
}

Result<BuildOptions> resolve_build_options(const Config* config, const ModelConfig* model, const OptionOverrides& o) {
  BuildOptions opts;
  std::string device = "cpu", batch = "1", precision = "fp32";
  if (config && config->device) device = *config->device;
  if (model) {
    if (model->device) device = *model->device;
    if (model->precision) precision = *model->precision;
    if (model->batch) batch = *model->batch;
    if (model->imgsz) opts.imgsz = *model->imgsz;
    if (model->workspace_gb) opts.workspace_gb = *model->workspace_gb;
  }
  if (o.device) device = *o.device;
  if (o.precision) precision = *o.precision;
  if (o.batch) batch = *o.batch;
  if (o.imgsz) opts.imgsz = *o.imgsz;
  if (o.workspace_gb) opts.workspace_gb = *o.workspace_gb;

  std::string where = model ? " (model '" + model->name + "')" : "";
  auto annotate = [&](const Status& s) { return Status(s.code(), s.message() + where); };
  auto dev = parse_device(device);
  if (!dev.ok()) return annotate(dev.status());
  opts.device = *dev;
  auto bp = parse_batch_profile(batch);
  if (!bp.ok()) return annotate(bp.status());
  opts.batch = *bp;
  auto prec = parse_precision(precision);
  if (!prec.ok()) return annotate(prec.status());
  opts.precision = *prec;
  if (model) {
    // The model's int8 keys are checked as the CLI's flags are. They are the model's settings
    // for its int8 builds, so a run that overrides an int8 model's precision leaves them unused;
    // on a model that is not int8 they are a mistake in the file.
    Int8Arguments int8_keys{model->calib.value_or(""), model->calib_images, model->calib_method.value_or(""),
                            model->int8_exclude, model->int8_target_drop};
    const Result<Precision> own = parse_precision(model->precision.value_or(""));
    const bool int8_model = opts.precision == Precision::kInt8 || (own.ok() && *own == Precision::kInt8);
    auto int8 = parse_int8_options(int8_keys, int8_model, OptionSpelling::kConfigKey);
    if (!int8.ok()) return annotate(int8.status());
    opts.int8 = *int8;
  }
  if (Status s = check_input_size(opts.imgsz, opts.batch.max); !s.ok()) return annotate(s);
  if (opts.imgsz % 32 != 0)
    return error(StatusCode::kInvalidArgument, "imgsz ", opts.imgsz, ": expected a positive multiple of 32", where);
  if (opts.workspace_gb <= 0) return error(StatusCode::kInvalidArgument, "workspace ", opts.workspace_gb, ": expected > 0 GB", where);
  return opts;
}

Result<fs::path> resolve_model_source(const Config& config, const ModelConfig& model, const std::string& models_dir_flag) {
  fs::path as_path = resolve_config_path(model.source, config.path.parent_path());
  std::error_code ec;
  if (fs::is_regular_file(as_path, ec)) return as_path;
  fs::path dir = models_dir_flag.empty() && config.models_dir ? *config.models_dir : models_dir(models_dir_flag);
  auto r = resolve_model(model.source, dir);
  if (!r.ok()) return error(r.status().code(), config.path.string(), ": model '", model.name, "': ", r.status().message());
  return r;
}

}  // namespace kiln::engine
