// kiln.yaml: several models with their build settings, plus cache_dir, on_mismatch,
// device, models_dir, engine_key and pipelines (pipeline_config.h). Example:
//   cache_dir: ~/.cache/kiln
//   engine_key: /etc/kiln/engine.key   # sign engines built, refuse unsigned ones
//   on_mismatch: auto
//   device: cuda:0
//   models:
//     vehicle: {source: yolo11n.onnx, imgsz: 640, precision: fp16, batch: 1, workspace: 2}
//     plate:   {source: plates.onnx, imgsz: 416, batch: "1:4:8"}
//     edge:    {source: yolo11n.onnx, precision: int8, calib: data/coco128.yaml, calib_images: 256}
// Relative paths resolve against the yaml's folder. Unknown keys are errors naming the key
// and the file. Command-line flags override the file (OptionOverrides).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/build_options.h"
#include "engine/pipeline_config.h"
#include "kiln/status.h"

namespace kiln::engine {

struct ModelConfig {
  std::string name;
  std::string source;  // a path (resolved against the yaml's folder) or a model name
  std::optional<int64_t> imgsz;
  std::optional<std::string> precision;
  std::optional<std::string> batch;
  std::optional<double> workspace_gb;
  std::optional<std::string> device;
  // precision int8: calib (a path resolved like source, or a glob), calib_images,
  // calib_method, int8_exclude (a pattern or a list), int8_target_drop.
  std::optional<std::string> calib;
  std::optional<int64_t> calib_images;
  std::optional<std::string> calib_method;
  std::vector<std::string> int8_exclude;
  std::optional<double> int8_target_drop;
};

struct Config {
  std::filesystem::path path;
  std::optional<std::filesystem::path> cache_dir;
  std::optional<std::string> on_mismatch;
  std::optional<std::string> device;
  std::optional<std::filesystem::path> models_dir;
  std::optional<std::filesystem::path> engine_key;  // engine_signing.h
  std::vector<ModelConfig> models;  // in file order
  std::vector<PipelineConfig> pipelines;  // in file order (pipeline_config.h)
};

// A path as kiln.yaml writes it: "~/x" in the home folder, a relative one in the yaml's
// folder `base`.
std::filesystem::path resolve_config_path(const std::string& text, const std::filesystem::path& base);

// NotFound / IoError / Corrupt (YAML syntax) / InvalidArgument (unknown key, wrong type,
// bad value), each naming the file.
Result<Config> load_config(const std::filesystem::path& path);
// The same from the file's text already in memory: `path` names it in errors and is the
// base of its relative paths; nothing is read from disk.
Result<Config> parse_config(std::string_view yaml, const std::filesystem::path& path);

// Settings given on the command line; each one set wins over the config.
struct OptionOverrides {
  std::optional<std::string> device;
  std::optional<std::string> precision;
  std::optional<std::string> batch;
  std::optional<int64_t> imgsz;
  std::optional<double> workspace_gb;
};

// Defaults <- config top level (device) <- model entry <- overrides; validated.
Result<BuildOptions> resolve_build_options(const Config* config, const ModelConfig* model,
                                           const OptionOverrides& overrides);

// The model entry's source as a file: a path relative to the yaml's folder, or a model
// name looked up in models_dir (flag, else config, else KILN_MODELS_DIR).
Result<std::filesystem::path> resolve_model_source(const Config& config, const ModelConfig& model,
                                                   const std::string& models_dir_flag);

}  // namespace kiln::engine
