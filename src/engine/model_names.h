// Ultralytics model names, "yolo[v]<version><size>[-<task>]" (yolo11n-pose, yolov8s,
// yolo10m-seg): what they say about the task and input size, and where to find the
// model file for a bare name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "kiln/status.h"

namespace kiln::engine {

struct ModelName {
  std::string version;  // "11", "8", "10"
  char size = 'n';      // n s m l x
  std::string task;     // detect | segment | pose | obb | classify
};

// Parses a name or file stem. Other "-" parts (e.g. "-dynamic", "-random") are ignored;
// the first task suffix (seg, pose, obb, cls) wins. nullopt when it is not a YOLO name.
std::optional<ModelName> parse_model_name(std::string_view stem);

// classify 224, obb 1024, everything else 640.
int64_t default_imgsz(const std::string& task);

// `flag` if set, else $KILN_MODELS_DIR, else empty (no models directory).
std::filesystem::path models_dir(const std::string& flag);

// `arg` itself when it names an existing file; else, for a bare name (no folder, no
// extension), <models_dir>/<arg>.onnx when it exists. NotFound says where kiln looked.
Result<std::filesystem::path> resolve_model(const std::string& arg, const std::filesystem::path& models_dir);

}  // namespace kiln::engine
