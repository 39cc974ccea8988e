// kiln bench --model M --source IMAGE: the whole of Model::predict timed, from an image
// decoded in host memory to detections in host memory, as an application sees it.
#pragma once

#include <string>
#include <vector>

#include "kiln/model.h"

namespace kiln::cli {

struct EndToEndOptions {
  std::string model;
  std::string source;                   // one image file
  std::vector<std::string> precisions;  // fp32 | fp16, one row each
  int iters = 200;
  int warmup = 20;
  ModelOptions model_options;  // --task / --names; device and precision are set per row
};

// Prints, per precision, p50 / p95 / p99 end-to-end ms (host clock around predict) and
// the median preprocess / inference / postprocess split the prediction reports (CUDA
// events on the GPU path). Returns the exit code.
int run_bench_end_to_end(const EndToEndOptions& options);

}  // namespace kiln::cli
