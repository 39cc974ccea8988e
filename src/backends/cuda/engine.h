// The CUDA backend's public API. Engine::build plans an optimized ir::Graph (static shapes)
// for one precision: weights on the device, a cuDNN plan or kernel per node, the tactic of
// each. ExecutionContext holds the activation arena (buffers reused by liveness), the I/O
// buffers, and a CUDA graph captured on first use and replayed afterwards.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/plan.h"
#include "ir/graph.h"
#include "ir/tensor.h"
#include "kiln/status.h"

namespace kiln::cuda {

// True when a CUDA device can be used (cudaGetDeviceCount succeeds and finds one).
bool gpu_available();
// "NVIDIA H100 80GB HBM3, cc 9.0, cuDNN 91900, cuBLAS 130000" (empty without a GPU).
std::string device_summary();

struct Tactic {
  std::string node;
  std::string tactic;
};

// GPU time of one step in a profiled (eager, non-graph) run.
struct StepTime {
  std::string node;
  std::string op;
  std::string tactic;
  double ms = 0;  // median over the profiled runs
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> build(const ir::Graph& graph, const BuildOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const BuildOptions& options() const { return options_; }
  std::vector<Tactic> tactics() const;
  size_t num_inputs() const { return input_slots_.size(); }
  size_t num_outputs() const { return output_slots_.size(); }
  const std::vector<int64_t>& input_dims(size_t i) const { return slots_[input_slots_[i]].dims; }
  const std::vector<int64_t>& output_dims(size_t i) const { return slots_[output_slots_[i]].dims; }
  size_t weight_bytes() const { return weight_bytes_; }
  const BuildStats& build_stats() const { return stats_; }

 private:
  Engine() = default;
  friend class ExecutionContext;

  BuildOptions options_;
  Handles handles_;
  std::vector<cudnnHandle_t> worker_cudnn_;  // used to compile plans; destroyed after them
  void* cublas_workspace_ = nullptr;
  std::vector<Slot> slots_;
  std::vector<std::unique_ptr<Step>> steps_;
  std::vector<void*> device_allocs_;
  size_t workspace_bytes_ = 0;
  size_t weight_bytes_ = 0;
  BuildStats stats_;
  std::vector<int> input_slots_, output_slots_;
};

class ExecutionContext {
 public:
  // Allocates the arena and I/O buffers. With use_cuda_graph=false every enqueue launches
  // the steps one by one (debugging).
  static Result<std::unique_ptr<ExecutionContext>> create(const Engine& engine, bool use_cuda_graph = true);
  ~ExecutionContext();
  ExecutionContext(const ExecutionContext&) = delete;
  ExecutionContext& operator=(const ExecutionContext&) = delete;

  // Device buffers for graph input i (FP32, NCHW) and output i (FP32, ONNX layout).
  float* input(size_t i) const;
  const float* output(size_t i) const;

  // Enqueues one inference on `stream` (not the legacy default stream). The first call runs
  // the steps once eagerly, then captures them into a CUDA graph; later calls replay it.
  Status enqueue(cudaStream_t stream);
  // Copies host inputs in, runs on the context's own stream, copies outputs out, waits.
  Result<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs);

  // Runs the steps eagerly `runs` times on `stream` with CUDA events around each step and
  // returns each step's median GPU time, in plan order (launch gaps excluded).
  Result<std::vector<StepTime>> profile(cudaStream_t stream, int runs);

  size_t arena_bytes() const { return arena_bytes_; }  // peak activation memory
  size_t workspace_bytes() const { return engine_.workspace_bytes_; }

 private:
  explicit ExecutionContext(const Engine& engine) : engine_(engine) {}
  Status plan_memory();
  Status enqueue_steps(cudaStream_t stream) const;

  const Engine& engine_;
  bool use_graph_ = true;
  ExecState state_;
  void* arena_ = nullptr;
  size_t arena_bytes_ = 0;
  std::vector<void*> owned_;  // arena, workspace, I/O buffers
  cudaStream_t own_stream_ = nullptr;
  cudaGraphExec_t graph_exec_ = nullptr;
};

}  // namespace kiln::cuda
