// A Triton model repository for one kiln model: <out>/<name>/config.pbtxt (backend "kiln",
// dynamic batching, an instance group, the serving parameters) and <out>/<name>/1/ holding
// the .onnx or .kiln file, ready for `tritonserver --model-repository <out>`.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kiln/options.h"
#include "kiln/status.h"
#include "serve_config.h"

namespace kiln::triton {

struct RepositoryOptions {
  std::string name;             // the model's name in Triton (folder name)
  std::string task;             // detect | segment | pose | obb | classify: which outputs it has
  int max_batch_size = 8;       // requests (images) per dynamic batch
  // How long the batcher holds a request to fill a batch. 0: a request runs as soon as an
  // instance is free, and those that queue while it is busy still form one batch.
  int queue_delay_us = 0;
  InstanceKind kind = InstanceKind::kGpu;
  std::vector<int> gpus;        // GPU instances: on these devices (empty: every visible GPU)
  int instances = 1;            // instances per device
  // Written as parameters (serve_config.h); unset ones keep the backend's defaults.
  std::optional<float> conf;
  std::optional<double> iou;
  std::optional<int> max_det, imgsz;
  std::optional<BatchProfile> batch;
  std::optional<Precision> precision;
};

// config.pbtxt's text. InvalidArgument for an unknown task or a count below 1.
Result<std::string> model_config_text(const RepositoryOptions& options, const std::string& model_file);

// Writes the repository folder <out>/<name> from `model` (copied in). An existing <out>/<name>
// is an error; the folder appears whole or not at all.
Status write_model_repository(const std::filesystem::path& model, const std::filesystem::path& out,
                              const RepositoryOptions& options);

}  // namespace kiln::triton
