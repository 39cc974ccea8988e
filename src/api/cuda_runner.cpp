// The CUDA side of runner.h. Compiled in every build; without KILN_API_CUDA (a CPU-only
// kiln) it only reports that the backend is missing.
#include "api/runner.h"

#if KILN_API_CUDA
#include <cuda_runtime.h>

#include <map>

#include "api/gpu_predict.h"
#include "backends/cuda/engine.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "vision_cuda/letterbox_gpu.h"
#endif

namespace kiln::api {

#if KILN_API_CUDA

namespace {

class CudaRunner : public Runner {
 public:
  explicit CudaRunner(int device) : device_(device) {}
  Status init(const ir::Graph& graph, cuda::Precision precision) {
    KILN_RETURN_IF_ERROR(select());
    cuda::BuildOptions options;
    options.precision = precision;
    KILN_ASSIGN_OR_RETURN(engine_, cuda::Engine::build(graph, options));
    return init_context();
  }
  Status init(std::shared_ptr<cuda::Engine> engine) {
    KILN_RETURN_IF_ERROR(select());
    engine_ = std::move(engine);
    return init_context();
  }
  Result<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) override {
    KILN_RETURN_IF_ERROR(select());
    return context_->run(inputs);
  }
  Result<DevicePredictor*> device_predictor() override {
    if (!predictor_) {
      KILN_RETURN_IF_ERROR(select());
      KILN_ASSIGN_OR_RETURN(predictor_, make_gpu_predictor(*engine_, *context_, device_));
    }
    return predictor_.get();
  }

 private:
  Status init_context() {
    KILN_ASSIGN_OR_RETURN(context_, cuda::ExecutionContext::create(*engine_));
    return Status::Ok();
  }
  Status select() const {
    cudaError_t e = cudaSetDevice(device_);
    if (e != cudaSuccess)
      return error(StatusCode::kNotFound, "cuda:", device_, ": ", cudaGetErrorString(e));
    return Status::Ok();
  }
  int device_;
  std::shared_ptr<cuda::Engine> engine_;
  std::unique_ptr<cuda::ExecutionContext> context_;  // declared after engine_: destroyed first
  std::unique_ptr<DevicePredictor> predictor_;        // uses context_: destroyed before it
};

// A model with symbolic height/width on the GPU: one CUDA engine per input size, built on
// first use; predict letterboxes each image to its own minimal-padding size and runs it on
// that size's engine (one image per inference).
class CudaShapesRunner : public Runner, public DevicePredictor {
 public:
  CudaShapesRunner(std::filesystem::path model, DynamicDims dims, cuda::Precision precision, int device)
      : model_(std::move(model)), dims_(std::move(dims)), precision_(precision), device_(device) {}

  Result<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) override {
    if (inputs.size() != 1 || inputs[0].rank() != 4 || inputs[0].dim(0) != 1)
      return error(StatusCode::kInvalidArgument, model_.string(), ": expects one [1, 3, h, w] input");
    KILN_ASSIGN_OR_RETURN(Runner * r, runner_for(inputs[0].dim(2), inputs[0].dim(3)));
    return r->run(inputs);
  }
  Result<DevicePredictor*> device_predictor() override { return this; }

  Result<std::vector<Prediction>> predict(const ModelInfo& info, const std::string& name, bool end2end,
                                          std::span<const ImageView> images, const PredictOptions& o) override {
    std::vector<Prediction> out;
    for (const ImageView& image : images) {
      const vision_cuda::LetterboxLayout l =
          vision_cuda::letterbox_layout(image.width, image.height, info.imgsz_h, info.imgsz_w, info.stride);
      KILN_ASSIGN_OR_RETURN(Runner * r, runner_for(l.height, l.width));
      KILN_ASSIGN_OR_RETURN(DevicePredictor * p, r->device_predictor());
      KILN_ASSIGN_OR_RETURN(auto one, p->predict(info, name, end2end, std::span<const ImageView>(&image, 1), o));
      out.push_back(std::move(one.at(0)));
    }
    return out;
  }

 private:
  // The engine for an h x w input: the model imported again and optimized with that size
  // bound (the timing cache's compiled plans make a size built before take well under a
  // second; a new one pays its conv tuning once).
  Result<Runner*> runner_for(int64_t h, int64_t w) {
    std::unique_ptr<Runner>& slot = runners_[{h, w}];
    if (!slot) {
      KILN_ASSIGN_OR_RETURN(ir::Graph graph, onnx::import_model(model_));
      passes::OptimizeOptions opt;
      if (!dims_.batch.empty()) opt.bind_dims[dims_.batch] = 1;
      if (!dims_.height.empty()) opt.bind_dims[dims_.height] = h;
      if (!dims_.width.empty()) opt.bind_dims[dims_.width] = w;
      KILN_RETURN_IF_ERROR(passes::optimize(graph, opt));
      auto runner = std::make_unique<CudaRunner>(device_);
      Status st = runner->init(graph, precision_);
      if (!st.ok()) return error(st.code(), model_.string(), " at ", h, "x", w, ": ", st.message());
      slot = std::move(runner);
    }
    return slot.get();
  }

  std::filesystem::path model_;
  DynamicDims dims_;
  cuda::Precision precision_;
  int device_;
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<Runner>> runners_;
};

cuda::Precision parse_precision(const std::string& precision) {
  return precision == "fp16" ? cuda::Precision::kFp16 : cuda::Precision::kFp32;
}

}  // namespace

Result<std::unique_ptr<Runner>> make_cuda_shapes_runner(std::filesystem::path model, DynamicDims dims,
                                                        const std::string& precision, int device_index) {
  if (precision != "fp32" && precision != "fp16")
    return error(StatusCode::kUnsupported, "precision ", precision, " is not supported by the CUDA backend (fp32, fp16)");
  return std::unique_ptr<Runner>(
      std::make_unique<CudaShapesRunner>(std::move(model), std::move(dims), parse_precision(precision), device_index));
}

Result<std::unique_ptr<Runner>> make_cuda_runner(const ir::Graph& graph, const std::string& precision,
                                                 int device_index) {
  if (precision != "fp32" && precision != "fp16")
    return error(StatusCode::kUnsupported, "precision ", precision, " is not supported by the CUDA backend (fp32, fp16)");
  auto runner = std::make_unique<CudaRunner>(device_index);
  KILN_RETURN_IF_ERROR(runner->init(graph, parse_precision(precision)));
  return std::unique_ptr<Runner>(std::move(runner));
}

Result<std::unique_ptr<Runner>> make_cuda_runner(std::shared_ptr<cuda::Engine> engine, int device_index) {
  auto runner = std::make_unique<CudaRunner>(device_index);
  KILN_RETURN_IF_ERROR(runner->init(std::move(engine)));
  return std::unique_ptr<Runner>(std::move(runner));
}

std::string cuda_unavailable_reason() { return cuda::gpu_available() ? "" : "no CUDA device found"; }

#else

Result<std::unique_ptr<Runner>> make_cuda_shapes_runner(std::filesystem::path, DynamicDims, const std::string&, int) {
  return error(StatusCode::kUnsupported, cuda_unavailable_reason());
}

Result<std::unique_ptr<Runner>> make_cuda_runner(const ir::Graph&, const std::string&, int) {
  return error(StatusCode::kUnsupported, cuda_unavailable_reason());
}

Result<std::unique_ptr<Runner>> make_cuda_runner(std::shared_ptr<cuda::Engine>, int) {
  return error(StatusCode::kUnsupported, cuda_unavailable_reason());
}

std::string cuda_unavailable_reason() { return "kiln was built without CUDA"; }

#endif

}  // namespace kiln::api
