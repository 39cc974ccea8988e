#include "pipeline/pipeline_models.h"

#include <charconv>

namespace kiln::pipeline {

namespace fs = std::filesystem;

namespace {

Status config_error(const engine::Config& config, const std::string& key, const std::string& problem) {
  return error(StatusCode::kInvalidArgument, config.path.string(), ": ", key, ": ", problem);
}

MismatchPolicy to_policy(const std::optional<std::string>& text) {
  if (text == "fail") return MismatchPolicy::kFail;
  if (text == "prompt") return MismatchPolicy::kPrompt;  // no one to ask here: behaves as fail
  return MismatchPolicy::kAuto;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + (shape[i] < 0 ? std::string("N") : std::to_string(shape[i]));
  return s + "]";
}

}  // namespace

Result<Model> load_pipeline_model(const engine::Config& config, const std::string& ref, const std::string& key,
                                  int64_t imgsz, const PipelineOverrides& overrides) {
  const engine::ModelConfig* entry = nullptr;
  for (const engine::ModelConfig& m : config.models)
    if (m.name == ref) entry = &m;
  fs::path path;
  if (entry) {
    Result<fs::path> source = engine::resolve_model_source(config, *entry, "");
    if (!source.ok()) return config_error(config, key, source.status().message());
    path = *source;
  } else {
    path = engine::resolve_config_path(ref, config.path.parent_path());
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
      return config_error(config, key, "'" + ref + "' is neither a model under models: nor a file (" + path.string() + ")");
  }
  engine::OptionOverrides o;
  o.device = overrides.device;
  Result<engine::BuildOptions> build = engine::resolve_build_options(&config, entry, o);
  if (!build.ok()) return config_error(config, key, build.status().message());
  if (overrides.strict_gpu && !build->device.is_cuda())
    return config_error(config, key, "strict GPU mode, but this model runs on " + build->device.to_string() +
                                         " (its device: in the config, or the caller's override)");
  ModelOptions mo;
  mo.device = build->device;
  mo.strict_gpu = overrides.strict_gpu;
  mo.precision = build->precision;
  mo.batch = build->batch;
  mo.imgsz = static_cast<int>(imgsz > 0 ? imgsz : entry && entry->imgsz ? *entry->imgsz : 0);
  mo.cache_dir = !overrides.cache_dir.empty() ? overrides.cache_dir : config.cache_dir.value_or(fs::path());
  mo.on_mismatch = to_policy(config.on_mismatch);
  mo.progress = overrides.progress;
  Result<Model> model = Model::load(path, mo);
  if (!model.ok()) return config_error(config, key, model.status().message());
  const ModelInfo& info = model->info();
  if (mo.imgsz > 0 && !info.dynamic_input && !info.task.empty() && (info.imgsz_h != mo.imgsz || info.imgsz_w != mo.imgsz))
    return config_error(config, key, path.filename().string() + " is a static model for " + std::to_string(info.imgsz_h) +
                                         "x" + std::to_string(info.imgsz_w) + ", not imgsz " + std::to_string(mo.imgsz));
  return model;
}

Status check_detector(const engine::Config& config, const std::string& key, const Model& detector) {
  const std::string& task = detector.info().task;
  if (task == "detect" || task == "segment" || task == "pose") return Status::Ok();
  return config_error(config, key,
                      "a " + (task.empty() ? std::string("non-YOLO") : task) +
                          " model cannot be the detector (it must be a detect, segment or pose model)");
}

Status check_stage_model(const engine::Config& config, const std::string& key, engine::StageRole role,
                         const Model& model) {
  const ModelInfo& info = model.info();
  const std::string want(to_string(role));
  if (role != engine::StageRole::kEmbed) {
    if (info.task == want) return Status::Ok();
    return config_error(config, key,
                        "a " + (info.task.empty() ? std::string("non-YOLO") : info.task) + " model cannot run a " + want +
                            " stage (it needs a " + want + " model)");
  }
  const bool input_ok = info.inputs.size() == 1 && info.inputs[0].shape.size() == 4 && info.inputs[0].shape[1] == 3 &&
                        info.inputs[0].shape[2] > 0 && info.inputs[0].shape[3] > 0;
  const bool output_ok = info.outputs.size() == 1 && info.outputs[0].shape.size() == 2 && info.outputs[0].shape[1] > 0;
  if (input_ok && output_ok) return Status::Ok();
  std::string outputs;
  for (const TensorInfo& t : info.outputs) outputs += (outputs.empty() ? "" : ", ") + shape_text(t.shape);
  return config_error(config, key,
                      "an embed stage needs one input [N, 3, h, w] and one output [N, dim] (e.g. OSNet ReID); this "
                      "model gives " + outputs);
}

Result<std::vector<int>> resolve_classes(const engine::Config& config, const std::string& key,
                                         const std::vector<std::string>& classes, const ModelInfo& detector) {
  const std::vector<std::string>& names = detector.names;
  std::vector<int> ids;
  for (const std::string& c : classes) {
    int id = -1;
    auto [end, ec] = std::from_chars(c.data(), c.data() + c.size(), id);
    const bool numeric = ec == std::errc() && end == c.data() + c.size();
    if (!numeric)
      for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == c) id = static_cast<int>(i);
    if (id < 0 || id >= static_cast<int>(names.size())) {
      std::string known;
      for (size_t i = 0; i < names.size() && i < 6; ++i) known += (i ? ", " : "") + names[i];
      if (names.size() > 6) known += ", ...";
      return config_error(config, key,
                          "the detector has no class '" + c + "' (its " + std::to_string(names.size()) +
                              " classes: " + known + ")");
    }
    ids.push_back(id);
  }
  return ids;
}

}  // namespace kiln::pipeline
