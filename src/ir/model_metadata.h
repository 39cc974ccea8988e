// What kiln needs to know about a YOLO model beyond its graph: task, class names,
// stride, input size, keypoint shape. Parsed from the metadata_props Ultralytics writes
// (Python-literal strings such as "{0: 'person', 1: 'bicycle'}" and "[640, 640]").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln::ir {

// Largest input size (and stride) a model may declare or be built for.
inline constexpr int64_t kMaxImgsz = 8192;
inline constexpr int64_t kMaxMetadataBatch = 1024;

struct ModelMetadata {
  std::string task;                 // detect | segment | pose | obb | classify | "" (unknown)
  std::vector<std::string> names;   // class names by id
  int64_t stride = 32;
  int64_t imgsz_h = 0, imgsz_w = 0; // 0 when not recorded
  std::vector<int64_t> kpt_shape;   // pose: {17, 3}
  int64_t batch = 1;
  bool end2end = false;             // NMS-free export (YOLOv10 / end2end=True)
  std::string version;              // Ultralytics version that exported it
};

// Missing keys keep their defaults; a key that is present but malformed (out of range, or
// not valid UTF-8) is an error naming the key.
Result<ModelMetadata> parse_model_metadata(const std::map<std::string, std::string>& props);

}  // namespace kiln::ir
