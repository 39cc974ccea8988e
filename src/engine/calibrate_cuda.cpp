#include "engine/calibrate_cuda.h"

#if KILN_ENGINE_CUDA
#include <cuda_runtime.h>

#include <algorithm>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/engine.h"

namespace kiln::engine {

namespace {

class CudaActivationRunner : public quant::ActivationRunner {
 public:
  ~CudaActivationRunner() override {
    if (stream_) cudaStreamDestroy(stream_);
    if (host_) cudaFreeHost(host_);
  }

  Result<std::vector<std::span<const float>>> run(const ir::Tensor& input) override {
    const std::vector<int64_t>& dims = engine_->input_dims(0);
    if (input.dtype() != ir::DType::kFloat32 || input.shape() != dims)
      return error(StatusCode::kInvalidArgument, "calibration input must be float32 ", ir::shape_to_string(dims),
                   ", got ", ir::shape_to_string(input.shape()));
    KILN_CUDA_TRY(cudaSetDevice(device_), "cudaSetDevice");
    KILN_CUDA_TRY(cudaMemcpyAsync(context_->input(0), input.raw(), input.nbytes(), cudaMemcpyHostToDevice, stream_),
                  "copy of the calibration input");
    KILN_RETURN_IF_ERROR(context_->enqueue(stream_));
    for (const Copy& c : copies_)
      KILN_CUDA_TRY(cudaMemcpyAsync(host_ + c.offset, context_->output(c.output), c.count * sizeof(float),
                                    cudaMemcpyDeviceToHost, stream_),
                    "copy of a calibration point");
    KILN_CUDA_TRY(cudaStreamSynchronize(stream_), "calibration run");
    std::vector<std::span<const float>> out;
    for (int c : copy_of_point_)
      out.push_back(c < 0 ? std::span<const float>(input.data<float>(), static_cast<size_t>(input.numel()))
                          : std::span<const float>(host_ + copies_[c].offset, copies_[c].count));
    return out;
  }

  // Filled by cuda_activation_runner.
  struct Copy {
    size_t output = 0;  // engine output
    size_t offset = 0;  // into host_, in floats
    size_t count = 0;
  };

  int device_ = 0;
  std::unique_ptr<cuda::Engine> engine_;
  std::unique_ptr<cuda::ExecutionContext> context_;
  cudaStream_t stream_ = nullptr;
  // Page-locked: every point of every image crosses to the host, at full copy bandwidth.
  float* host_ = nullptr;
  std::vector<Copy> copies_;
  std::vector<int> copy_of_point_;  // by point: its copy, or -1 for the graph input
};

}  // namespace

std::string calibration_gpu(const Device& device) {
  int n = 0;
  if (!device.is_cuda() || cudaGetDeviceCount(&n) != cudaSuccess || device.index >= n) return "";
  if (cudaSetDevice(device.index) != cudaSuccess) return "";
  return cuda::device_summary();
}

Result<std::unique_ptr<quant::ActivationRunner>> cuda_activation_runner(ir::Graph graph,
                                                                        const std::vector<std::string>& points,
                                                                        const Device& device) {
  KILN_ASSIGN_OR_RETURN(std::vector<ir::Value*> values, quant::find_points(graph, points));
  auto runner = std::unique_ptr<CudaActivationRunner>(new CudaActivationRunner());
  runner->device_ = device.index;
  KILN_CUDA_TRY(cudaSetDevice(device.index), device.to_string());
  std::vector<int> output_of_point;
  for (ir::Value* v : values) {
    if (v == graph.inputs[0]) {
      output_of_point.push_back(-1);
      continue;
    }
    auto it = std::find(graph.outputs.begin(), graph.outputs.end(), v);
    if (it == graph.outputs.end()) it = graph.outputs.insert(graph.outputs.end(), v);
    output_of_point.push_back(static_cast<int>(it - graph.outputs.begin()));
  }
  cuda::BuildOptions options;
  options.precision = Precision::kFp32;  // strict: no TF32 tensor cores, no down-converted inputs
  // cuDNN's and cuBLASLt's heuristic first choice, untimed and uncapped: a timed pick or a
  // workspace cap could change the plan, and the values, from one build to the next.
  options.tune = false;
  options.timing_cache = false;
  KILN_ASSIGN_OR_RETURN(runner->engine_, cuda::Engine::build(graph, options));
  KILN_ASSIGN_OR_RETURN(runner->context_, cuda::ExecutionContext::create(*runner->engine_));
  KILN_CUDA_TRY(cudaStreamCreateWithFlags(&runner->stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  size_t floats = 0;
  for (int o : output_of_point) {
    if (o < 0) {
      runner->copy_of_point_.push_back(-1);
      continue;
    }
    const std::vector<int64_t>& dims = runner->engine_->output_dims(static_cast<size_t>(o));
    const auto count = static_cast<size_t>(ir::shape_numel(dims));
    runner->copy_of_point_.push_back(static_cast<int>(runner->copies_.size()));
    runner->copies_.push_back({static_cast<size_t>(o), floats, count});
    floats += count;
  }
  KILN_CUDA_TRY(cudaMallocHost(reinterpret_cast<void**>(&runner->host_), std::max<size_t>(floats, 1) * sizeof(float)),
                "cudaMallocHost of the calibration points");
  return std::unique_ptr<quant::ActivationRunner>(std::move(runner));
}

}  // namespace kiln::engine

#else

namespace kiln::engine {

std::string calibration_gpu(const Device&) { return ""; }

Result<std::unique_ptr<quant::ActivationRunner>> cuda_activation_runner(ir::Graph, const std::vector<std::string>&,
                                                                        const Device& device) {
  return error(StatusCode::kUnsupported, device.to_string(), ": kiln was built without CUDA");
}

}  // namespace kiln::engine
#endif
