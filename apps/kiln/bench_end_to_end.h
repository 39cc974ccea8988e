// kiln bench --model M --source IMAGE: the whole of Model::predict timed, from an image
// decoded in host memory to detections in host memory, as an application sees it. Runs on
// the GPU or on the CPU backend, so it also times INT8 against FP32 where no GPU is.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/model.h"

namespace kiln::cli {

struct EndToEndOptions {
  std::string model;
  std::string source;                   // one image file
  std::vector<Precision> precisions;  // one row each
  int iters = 200;
  int warmup = 20;
  ModelOptions model_options;  // --task / --names, int8 options; device and precision are set per row
  std::optional<Device> device;  // unset: cuda:0 where a GPU is usable, else the CPU
  std::string data;  // dataset: each row's mAP50-95 (top-1 for classify) as kiln val gives it
};

// Prints, per precision, p50 / p95 / p99 end-to-end ms (host clock around predict) and
// the median preprocess / inference / postprocess split the prediction reports (CUDA
// events on the GPU path), and with --data the accuracy. A precision the device does not
// run is a row that says why, as in the CUDA engine table. Returns the exit code.
int run_bench_end_to_end(const EndToEndOptions& options);

}  // namespace kiln::cli
