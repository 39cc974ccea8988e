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
#include "kiln/frame.h"
#include "kiln/image.h"
#include "kiln/model.h"
#include "kiln/status.h"
#include "vision/detect.h"

namespace kiln::engine {
struct CudaEngines;
struct Engine;
}  // namespace kiln::engine

namespace kiln::api {

// The NMS settings of `options`, as both predict paths (host and device) apply them.
vision::NmsOptions nms_options(const PredictOptions& options);

// Model::predict entirely on a device (pre-processing, inference, decode), for runners
// whose outputs live there.
class DevicePredictor {
 public:
  virtual ~DevicePredictor() = default;
  // At most the model's batch of images per inference; images are already checked.
  virtual Result<std::vector<Prediction>> predict(const ModelInfo& info, const std::string& name, bool end2end,
                                                  std::span<const ImageView> images, const PredictOptions& options) = 0;
  // Frames in device memory (checked by check_frame): each converted and letterboxed by one
  // kernel on its own stream, the rest ordered after it.
  virtual Result<std::vector<Prediction>> predict_frames(const ModelInfo& info, const std::string& name, bool end2end,
                                                         std::span<const Frame> frames,
                                                         const PredictOptions& options) = 0;
  // predict_tensor on an input the caller writes into the device (its shape checked for
  // the model): `fill` writes each inference's inputs, decoded in the input's pixels.
  virtual Result<std::vector<Prediction>> predict_input(const ModelInfo& info, const std::string& name, bool end2end,
                                                        const DeviceInput& input, const PredictOptions& options) = 0;
  // One inference of a one-input model on such an input (at most the largest batch): the
  // outputs on the host, each cut to the input's rows when its first dim is the batch.
  virtual Result<std::vector<Tensor>> run_input(const DeviceInput& input) = 0;
  // InvalidArgument "frame i: ..." for a frame whose planes are not where its `memory`
  // says (a host frame in device memory, a device frame in host memory or on another GPU).
  virtual Status check_memory(std::span<const Frame> frames) const = 0;
};

class Runner {
 public:
  virtual ~Runner() = default;
  // Inputs and outputs in graph order, float32 in ONNX layout.
  virtual Result<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) = 0;
  // The GPU path of predict when this runner has one (the CUDA runner), else null.
  virtual Result<DevicePredictor*> device_predictor() { return nullptr; }
  // Readies the runner for images of width x height that will keep coming (a video's
  // frames): a dynamic-size runner builds that size's tuned engine now. Nothing to do for
  // the others.
  virtual Status prepare(const ModelInfo& /*info*/, int /*width*/, int /*height*/) { return Status::Ok(); }
};

// Owns `graph` (optimized; symbolic dims allowed) and runs it node by node on the CPU.
Result<std::unique_ptr<Runner>> make_cpu_runner(ir::Graph graph);

// Runs the CUDA engines of the engine file `path` (`file`, loaded): `built` when the caller
// has them from the build that wrote the file, else replayed from the file's recorded plans
// (engine/cuda_engines.h). Unsupported when this kiln has no CUDA backend or no GPU.
// Thread-safe: each run or predict borrows an execution context of its own.
Result<std::unique_ptr<Runner>> make_cuda_runner(const std::filesystem::path& path, const engine::Engine& file,
                                                 std::shared_ptr<engine::CudaEngines> built, int device_index);

// A model with symbolic height/width on a GPU: one engine per input size (batch 1), each
// compiled on first use (engine/compile.h) with that size bound, so every image keeps its
// own minimal-padding letterbox size, as on the CPU. At FP16 a size's first engine has no
// runtime-compiled kernels (ready in tens of ms); one that keeps coming, or that prepare()
// names, gets its engine tuned through the timing cache.
Result<std::unique_ptr<Runner>> make_cuda_shapes_runner(std::filesystem::path model, Precision precision,
                                                        Device device);

// Empty when the CUDA backend can run here; otherwise why not ("kiln was built without
// CUDA", "no CUDA device found").
std::string cuda_unavailable_reason();

}  // namespace kiln::api
