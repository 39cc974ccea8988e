// The CUDA backend's public API. Engine::build plans an optimized ir::Graph (static shapes)
// for one precision: weights on the device, a cuDNN plan or kernel per node, the tactic of
// each, and the memory plan (arena offsets by liveness). An engine is immutable after build
// and may be shared by threads: each ExecutionContext owns what one inference in flight
// needs (activation arena, I/O buffers, workspaces, a cuBLAS handle, the streams of its
// lanes (schedule.h), its captured CUDA graph), so contexts on several threads or streams
// run concurrently on one engine's weights. Only the first enqueue of a context (eager run + capture) takes the engine's lock.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/cuda/plan.h"
#include "backends/cuda/schedule.h"
#include "ir/graph.h"
#include "ir/tensor.h"
#include "kiln/status.h"

namespace kiln::cuda {

// True when a CUDA device can be used (cudaGetDeviceCount succeeds and finds one).
bool gpu_available();
// Whether an engine built at `precision` without runtime-compiled kernels runs its convs on
// kiln's own tensor-core kernel on the current GPU (FP16, compute capability 8.0+): such an
// engine plans in milliseconds and runs about half as fast as a tuned one. Elsewhere it
// would plan cuDNN's precompiled engines, no quicker than restoring a tuned engine's plans.
bool quick_plans_available(Precision precision);
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

// Device memory of an engine and of one execution context, in bytes.
struct MemoryReport {
  size_t weights = 0;    // constants (shared by every context, and by engines sharing the store)
  size_t arena = 0;      // activations, reused by liveness (per context)
  size_t workspace = 0;  // cuDNN / cuBLASLt scratch, one per lane (per context)
  size_t io = 0;         // graph inputs and outputs (per context)
  size_t cublas = 0;     // cuBLAS workspace (per context)
  size_t context() const { return arena + workspace + io + cublas; }
};

class Engine {
 public:
  // `weights`: a store shared with other engines of the same model (null: a store of its own).
  static Result<std::unique_ptr<Engine>> build(const ir::Graph& graph, const BuildOptions& options,
                                               std::shared_ptr<WeightStore> weights = nullptr);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const BuildOptions& options() const { return options_; }
  std::vector<Tactic> tactics() const;
  size_t num_inputs() const { return input_slots_.size(); }
  size_t num_outputs() const { return output_slots_.size(); }
  const std::vector<int64_t>& input_dims(size_t i) const { return slots_[input_slots_[i]].dims; }
  const std::vector<int64_t>& output_dims(size_t i) const { return slots_[output_slots_[i]].dims; }
  size_t weight_bytes() const { return weights_->bytes(); }
  MemoryReport memory() const;
  bool uses_cublas() const;  // some step calls cuBLAS (Gemm): contexts need a handle
  const BuildStats& build_stats() const { return stats_; }
  const Schedule& schedule() const { return schedule_; }
  // The timing-cache entries this build used (cuDNN serialized plans, cuBLASLt algorithms)
  // in TimingCache's text form: BuildOptions::recorded_plans of a build that replays it.
  // Empty for a replay: its engine file holds them.
  const std::string& recorded_plans() const { return recorded_plans_; }
  // Canonical text of the plan's structure (slots with layout, dtype and arena offset;
  // steps with op, kind of tactic, reads, writes): equal for a build and its replay.
  std::string structure() const;

 private:
  Engine() = default;
  friend class ExecutionContext;

  // Places every non-persistent root slot in one arena: slots that may be in use at the
  // same time (neither's steps all complete before the other's start, schedule_) get
  // disjoint ranges (greedy, largest first).
  void plan_memory();
  size_t context_workspace_bytes() const { return workspace_bytes_ * schedule_.lanes; }

  BuildOptions options_;
  Handles handles_;  // used to build the plans; contexts capture through handles_.cudnn
  std::vector<cudnnHandle_t> worker_cudnn_;  // used to compile plans; destroyed after them
  std::shared_ptr<WeightStore> weights_;
  std::vector<Slot> slots_;
  std::vector<std::unique_ptr<Step>> steps_;
  Schedule schedule_;
  std::vector<size_t> arena_offset_;  // by slot (roots in the arena)
  size_t arena_bytes_ = 0;
  size_t workspace_bytes_ = 0;
  BuildStats stats_;
  std::string recorded_plans_;
  std::vector<int> input_slots_, output_slots_;
  mutable std::mutex capture_mu_;  // shared handles are used by one eager run at a time
};

// Device addresses a context uses for its graph inputs and outputs (by index, float32 in
// the engine's dims) instead of buffers of its own: rows of a larger batch's buffers
// (batch_context.h); and, when not null, for its activation arena (at least the engine's
// arena bytes, 256-byte aligned): a region of memory that contexts which never run at
// the same time share.
struct IoAddresses {
  std::vector<float*> inputs, outputs;
  void* arena = nullptr;
};

class ExecutionContext {
 public:
  // Allocates the arena and I/O buffers (at `io`'s addresses where it gives them). With
  // use_cuda_graph=false every enqueue launches the steps one by one (debugging).
  static Result<std::unique_ptr<ExecutionContext>> create(const Engine& engine, bool use_cuda_graph = true,
                                                          const IoAddresses* io = nullptr);
  ~ExecutionContext();
  ExecutionContext(const ExecutionContext&) = delete;
  ExecutionContext& operator=(const ExecutionContext&) = delete;

  // Device buffers for graph input i (FP32, NCHW) and output i (FP32, ONNX layout).
  float* input(size_t i) const;
  const float* output(size_t i) const;

  // Enqueues one inference on `stream` (not the legacy default stream). The first call runs
  // the steps eagerly; the second captures them into a CUDA graph, which it and later calls
  // replay. A context run once (a dynamic model's input size seen once) is never captured.
  Status enqueue(cudaStream_t stream);
  // Copies host inputs in, runs on the context's own stream, copies outputs out, waits.
  Result<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs);

  // Replays the steps in plan order on `stream` (one lane), captured into a CUDA graph with
  // an event between each two, `runs` times, and returns each step's median GPU time in
  // plan order (the graph's gap before a step included, the host's enqueue not).
  Result<std::vector<StepTime>> profile(cudaStream_t stream, int runs);

  size_t arena_bytes() const { return engine_.arena_bytes_; }  // peak activation memory
  size_t workspace_bytes() const { return engine_.context_workspace_bytes(); }

 private:
  explicit ExecutionContext(const Engine& engine) : engine_(engine) {}
  Status allocate(const IoAddresses* io);
  // Enqueues every step: on `stream` alone for a one-lane schedule, else forked from
  // `stream` onto the lanes and joined back into it.
  Status enqueue_steps(cudaStream_t stream) const;

  const Engine& engine_;
  bool use_graph_ = true;
  std::vector<ExecState> state_;  // by lane: the slots' addresses and that lane's workspace
  std::vector<cudaStream_t> lane_streams_;  // lanes 1.. (lane 0 is the caller's stream)
  std::vector<cudaEvent_t> step_done_;      // by step, for the steps other lanes wait for
  cudaEvent_t fork_ = nullptr;
  std::vector<void*> owned_;  // arena, workspaces, I/O buffers
  cublasHandle_t cublas_ = nullptr;
  cudaStream_t own_stream_ = nullptr;
  cudaGraphExec_t graph_exec_ = nullptr;
  bool ran_eagerly_ = false;
};

}  // namespace kiln::cuda
