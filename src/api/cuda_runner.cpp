// The CUDA side of runner.h. Compiled in every build; without KILN_API_CUDA (a CPU-only
// kiln) it only reports that the backend is missing.
#include "api/runner.h"

#if KILN_API_CUDA
#include <cuda_runtime.h>

#include "api/gpu_predict.h"
#include "backends/cuda/engine.h"
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

}  // namespace

Result<std::unique_ptr<Runner>> make_cuda_runner(const ir::Graph& graph, const std::string& precision,
                                                 int device_index) {
  if (precision != "fp32" && precision != "fp16")
    return error(StatusCode::kUnsupported, "precision ", precision, " is not supported by the CUDA backend (fp32, fp16)");
  auto runner = std::make_unique<CudaRunner>(device_index);
  KILN_RETURN_IF_ERROR(runner->init(graph, precision == "fp16" ? cuda::Precision::kFp16 : cuda::Precision::kFp32));
  return std::unique_ptr<Runner>(std::move(runner));
}

Result<std::unique_ptr<Runner>> make_cuda_runner(std::shared_ptr<cuda::Engine> engine, int device_index) {
  auto runner = std::make_unique<CudaRunner>(device_index);
  KILN_RETURN_IF_ERROR(runner->init(std::move(engine)));
  return std::unique_ptr<Runner>(std::move(runner));
}

std::string cuda_unavailable_reason() { return cuda::gpu_available() ? "" : "no CUDA device found"; }

#else

Result<std::unique_ptr<Runner>> make_cuda_runner(const ir::Graph&, const std::string&, int) {
  return error(StatusCode::kUnsupported, cuda_unavailable_reason());
}

Result<std::unique_ptr<Runner>> make_cuda_runner(std::shared_ptr<cuda::Engine>, int) {
  return error(StatusCode::kUnsupported, cuda_unavailable_reason());
}

std::string cuda_unavailable_reason() { return "kiln was built without CUDA"; }

#endif

}  // namespace kiln::api
