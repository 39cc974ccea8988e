// Loading a pipeline's models from kiln.yaml and checking, before any frame runs, that
// each fits its place: the detector detects (detect, segment or pose), a stage's model has
// the task its role needs (an embed model one [batch, dim] output), and every class list
// names classes the detector has.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/config.h"
#include "kiln/model.h"

namespace kiln::pipeline {

// Settings a caller sets over the file's (the CLI's --device, --cache-dir).
struct PipelineOverrides {
  std::optional<std::string> device;
  std::filesystem::path cache_dir;
  bool strict_gpu = false;  // every model on a GPU (ModelOptions::strict_gpu); one on the CPU is an error
  std::function<void(const std::string&)> progress;  // one-line messages while an engine is built
};

// `ref`: a name under `models:` (its build settings apply) or a path relative to the yaml's
// folder; `key` names it in errors ("pipelines.traffic.stages[0].model"); `imgsz` > 0 asks
// for that input size.
Result<Model> load_pipeline_model(const engine::Config& config, const std::string& ref, const std::string& key,
                                  int64_t imgsz, const PipelineOverrides& overrides);

// The detector must detect (detect, segment, pose); a stage model must have the task of
// its role (embed: one input [batch, 3, h, w] and one output [batch, dim]).
Status check_detector(const engine::Config& config, const std::string& key, const Model& detector);
Status check_stage_model(const engine::Config& config, const std::string& key, engine::StageRole role,
                         const Model& model);

// Class names or ids of the detector as ids, in the order given; an unknown one is an
// error naming `key` and the detector's classes.
Result<std::vector<int>> resolve_classes(const engine::Config& config, const std::string& key,
                                         const std::vector<std::string>& classes, const ModelInfo& detector);

}  // namespace kiln::pipeline
