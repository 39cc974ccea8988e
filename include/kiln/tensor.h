// A plain float32 tensor for Model::run, the raw entry point for models that are not YOLO
// detectors (re-identification embeddings, custom heads).
#pragma once

#include <cstdint>
#include <vector>

namespace kiln {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, product(shape) values
};

}  // namespace kiln
