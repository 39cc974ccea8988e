// How the kiln backend serves one model, read once from the model's Triton configuration
// (config.pbtxt, handed to the backend as JSON): the model file, the batch sizes, the
// predict options and the build options given as `parameters`, plus where each instance
// of the model runs. Knows nothing of Triton's C API, so it is tested on its own.
#pragma once

#include <optional>
#include <string>

#include "kiln/model.h"
#include "kiln/options.h"
#include "kiln/status.h"

namespace kiln::triton {

struct ServeConfig {
  std::string model_file;   // default_model_filename, inside the version folder
  int max_batch_size = 0;   // images per dynamic batch (Triton batches requests up to it)
  // Parameter "batch": N or MIN:OPT:MAX images per inference; default 1:M:M (M the
  // max_batch_size), so a dynamic batch of n images runs at the smallest prepared batch >= n.
  BatchProfile batch = 1;
  int imgsz = 0;            // parameter "imgsz": input size of an .onnx; 0: the model's own
  std::optional<Precision> precision;  // parameter "precision"; unset: the model's default
  PredictOptions predict;   // parameters "conf", "iou", "max_det"
};

// The config's JSON as Triton serializes it (ModelConfig). Unknown parameters, values that do
// not parse and a max_batch_size below 1 are InvalidArgument errors naming the key and model.
Result<ServeConfig> parse_serve_config(const std::string& config_json);

// Where a Triton model instance runs, from its instance group.
enum class InstanceKind { kCpu, kGpu };

// The CPU for a CPU instance, cuda:N for a GPU instance on device N: every instance gets its
// own kiln::Model on its own device, so one process serves on any number of GPUs.
Result<Device> instance_device(InstanceKind kind, int device_id);

// The options Model::load gets for one instance.
Result<ModelOptions> instance_model_options(const ServeConfig& config, InstanceKind kind, int device_id);

}  // namespace kiln::triton
