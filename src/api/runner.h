// Where a model's graph runs: the CPU reference executor or the CUDA backend. Model holds
// one Runner and does not care which.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/tensor.h"
#include "kiln/image.h"
#include "kiln/model.h"
#include "kiln/status.h"

namespace kiln::cuda {
class Engine;
}

namespace kiln::api {

// Model::predict entirely on a device (pre-processing, inference, decode), for runners
// whose outputs live there.
class DevicePredictor {
 public:
  virtual ~DevicePredictor() = default;
  // At most the model's batch of images per inference; images are already checked.
  virtual Result<std::vector<Prediction>> predict(const ModelInfo& info, const std::string& name, bool end2end,
                                                  std::span<const ImageView> images, const PredictOptions& options) = 0;
};

class Runner {
 public:
  virtual ~Runner() = default;
  // Inputs and outputs in graph order, float32 in ONNX layout.
  virtual Result<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) = 0;
  // The GPU path of predict when this runner has one (the CUDA runner), else null.
  virtual Result<DevicePredictor*> device_predictor() { return nullptr; }
};

// Owns `graph` (optimized; symbolic dims allowed) and runs it node by node on the CPU.
Result<std::unique_ptr<Runner>> make_cpu_runner(ir::Graph graph);

// Builds the CUDA engine for `graph` (static shapes) at `precision` (fp32 | fp16) on GPU
// `device_index`. Unsupported when this kiln has no CUDA backend or no GPU is present.
Result<std::unique_ptr<Runner>> make_cuda_runner(const ir::Graph& graph, const std::string& precision,
                                                 int device_index);
// The same with an engine already built for that graph (the engine builder's verification
// built it), so a first use does not build the CUDA engine twice.
Result<std::unique_ptr<Runner>> make_cuda_runner(std::shared_ptr<cuda::Engine> engine, int device_index);

// The names of an image input's symbolic dims (empty: static).
struct DynamicDims {
  std::string batch, height, width;
};

// A model with symbolic height/width on GPU `device_index`: one CUDA engine per input size
// (batch 1), each built on first use from `model` imported again with that size bound, so
// every image keeps its own minimal-padding letterbox size, as on the CPU.
Result<std::unique_ptr<Runner>> make_cuda_shapes_runner(std::filesystem::path model, DynamicDims dims,
                                                        const std::string& precision, int device_index);

// Empty when the CUDA backend can run here; otherwise why not ("kiln was built without
// CUDA", "no CUDA device found").
std::string cuda_unavailable_reason();

}  // namespace kiln::api
