#include "backends/cuda/engine.h"

#include <cublas_v2.h>
#include <cudnn.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_support.h"
#include "backends/cuda/ops/conv_mma.h"
#include "backends/cuda/plan_compile_workers.h"
#include "backends/cuda/timing_cache.h"
#include "ir/dtype.h"

namespace kiln::cuda {

bool gpu_available() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

bool quick_plans_available(Precision precision) { return precision == Precision::kFp16 && mma_kernels_available(); }

std::string device_summary() {
  if (!gpu_available()) return "";
  int dev = 0;
  cudaDeviceProp p{};
  if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&p, dev) != cudaSuccess) return "";
  int rt = 0;
  cudaRuntimeGetVersion(&rt);
  std::ostringstream os;
  os << p.name << ", cc " << p.major << "." << p.minor << ", CUDA runtime " << rt << ", cuDNN "
     << cudnnGetVersion();
  return os.str();
}

Engine::~Engine() {
  steps_.clear();  // cuDNN plans go before the handles they were built with
  for (cudnnHandle_t h : worker_cudnn_) cudnnDestroy(h);
  if (handles_.cudnn) cudnnDestroy(handles_.cudnn);
  if (handles_.cublaslt) cublasLtDestroy(handles_.cublaslt);
}

std::vector<Tactic> Engine::tactics() const {
  std::vector<Tactic> out;
  for (const auto& s : steps_)
    if (s->tactic != "strided_copy") out.push_back({s->name, s->tactic});
  return out;
}

namespace {

// A cuBLAS workspace of its own per handle keeps cuBLAS from allocating inside CUDA graph
// capture, and contexts running at once from sharing scratch memory.
constexpr size_t kCublasWorkspace = 32u << 20;

// The kind of a tactic without the plan it names or where that plan came from:
// "cudnn_fused:eng4_k2=3 (cached plan)" -> "cudnn_fused". A replayed build names its
// restored plans differently from the build that compiled them; the plans themselves are
// the recorded ones.
std::string tactic_kind(const std::string& tactic) {
  return tactic.substr(0, std::min(tactic.find(':'), tactic.find(" (")));
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::build(const ir::Graph& graph, const BuildOptions& options,
                                              std::shared_ptr<WeightStore> weights) {
  if (!gpu_available()) return error(StatusCode::kUnsupported, "no CUDA device available");
  KILN_RETURN_IF_ERROR(check_current_device());
  std::unique_ptr<Engine> e(new Engine());
  e->options_ = options;
  e->weights_ = weights ? std::move(weights) : std::make_shared<WeightStore>();
  KILN_RETURN_IF_ERROR(cudnn_status(cudnnCreate(&e->handles_.cudnn), "cudnnCreate"));
  KILN_RETURN_IF_ERROR(cublas_status(cublasLtCreate(&e->handles_.cublaslt), "cublasLtCreate"));
  const auto t0 = std::chrono::steady_clock::now();
  PlanBuilder b(graph, options, e->handles_, e->weights_);
  std::unique_ptr<TimingCache> cache;
  if (options.recorded_plans)
    cache = std::make_unique<TimingCache>(TimingCache::recorded(options.recorded_plans));
  else if (options.timing_cache)
    cache = std::make_unique<TimingCache>(options.timing_cache_path);
  // Tuned choices hold for one GPU model and one cuDNN build.
  cudaDeviceProp prop{};
  int dev = 0;
  KILN_CUDA_TRY(cudaGetDevice(&dev), "cudaGetDevice");
  KILN_CUDA_TRY(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties");
  b.set_timing_cache(cache.get(), std::string(prop.name) + "|cudnn" + std::to_string(cudnnGetVersion()));
  Status st = options.recorded_plans  ? restore_recorded_conv_plans(b, options.restore_threads)
              : batch_planned_before(b) ? restore_cached_conv_plans(graph, b, options.restore_threads)
                                        : precompile_in_workers(graph, b);
  if (st.ok()) st = b.build();
  // A cache that cannot be written costs the next build its reuse, not this build.
  if (st.ok() && cache) (void)cache->save();
  e->worker_cudnn_ = std::move(b.worker_cudnn_);
  b.worker_cudnn_.clear();
  KILN_RETURN_IF_ERROR(st);
  e->slots_ = std::move(b.slots_);
  e->steps_ = std::move(b.steps_);
  e->workspace_bytes_ = b.workspace_bytes_;
  e->input_slots_ = b.input_slots();
  e->output_slots_ = b.output_slots();
  e->stats_ = b.stats();
  if (cache && !options.recorded_plans) e->recorded_plans_ = cache->used_text();
  e->schedule_ = schedule_steps(e->slots_, e->steps_, options.lanes);
  e->plan_memory();
  e->stats_.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

void Engine::plan_memory() {
  auto root_of = [&](int s) { return slots_[s].root >= 0 ? slots_[s].root : s; };
  std::vector<std::vector<int>> uses(slots_.size());  // steps touching each root, in order
  for (int i = 0; i < static_cast<int>(steps_.size()); ++i) {
    for (const auto* ids : {&steps_[i]->reads, &steps_[i]->writes})
      for (int s : *ids) {
        auto& u = uses[root_of(s)];
        if (u.empty() || u.back() != i) u.push_back(i);
      }
  }
  // Whether every step touching root a is complete before any step touching root b starts.
  auto all_before = [&](int a, int b) {
    for (int x : uses[a])
      for (int y : uses[b])
        if (!schedule_.happens_before(x, y)) return false;
    return true;
  };
  constexpr size_t kAlign = 256;
  auto aligned = [&](size_t n) { return (n + kAlign - 1) / kAlign * kAlign; };
  std::vector<int> order;
  for (int s = 0; s < static_cast<int>(slots_.size()); ++s)
    if (slots_[s].root < 0 && !slots_[s].constant && !slots_[s].persistent && !uses[s].empty()) order.push_back(s);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return slots_[a].bytes() > slots_[b].bytes(); });
  arena_offset_.assign(slots_.size(), 0);
  std::vector<int> placed;
  size_t peak = 0;
  for (int s : order) {
    const size_t size = aligned(std::max<size_t>(slots_[s].bytes(), 1));
    std::vector<std::pair<size_t, size_t>> busy;  // ranges of live-overlapping placed slots
    for (int p : placed)
      if (!all_before(p, s) && !all_before(s, p))
        busy.push_back({arena_offset_[p], arena_offset_[p] + aligned(slots_[p].bytes())});
    std::sort(busy.begin(), busy.end());
    size_t at = 0;
    for (auto [lo, hi] : busy) {
      if (at + size <= lo) break;
      at = std::max(at, hi);
    }
    arena_offset_[s] = at;
    peak = std::max(peak, at + size);
    placed.push_back(s);
  }
  arena_bytes_ = peak;
}

bool Engine::uses_cublas() const {
  return std::any_of(steps_.begin(), steps_.end(), [](const auto& s) { return s->uses_cublas(); });
}

MemoryReport Engine::memory() const {
  MemoryReport m;
  m.weights = weights_->bytes();
  m.arena = arena_bytes_;
  m.workspace = context_workspace_bytes();
  for (const Slot& s : slots_)
    if (s.persistent && s.root < 0 && !s.constant) m.io += std::max<size_t>(s.bytes(), 16);
  m.cublas = uses_cublas() ? kCublasWorkspace : 0;
  return m;
}

std::string Engine::structure() const {
  std::ostringstream os;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    os << "slot " << i << " " << s.name << " " << ir::shape_to_string(s.dims) << " " << ir::dtype_name(s.dtype)
       << (s.layout == Layout::kNHWC ? " nhwc" : " linear") << " root " << s.root << "+" << s.offset << " px "
       << s.pixel_stride << (s.persistent ? " io" : "") << (s.constant ? " const" : "") << " arena "
       << arena_offset_[i] << "\n";
  }
  for (size_t i = 0; i < steps_.size(); ++i) {
    const auto& st = steps_[i];
    os << "step " << st->name << " " << st->op << " " << tactic_kind(st->tactic) << " lane " << schedule_.lane[i]
       << " r";
    for (int r : st->reads) os << " " << r;
    os << " w";
    for (int w : st->writes) os << " " << w;
    os << "\n";
  }
  os << "arena " << arena_bytes_ << " workspace " << workspace_bytes_ << " lanes " << schedule_.lanes << "\n";
  return os.str();
}

ExecutionContext::~ExecutionContext() {
  if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
  for (cudaEvent_t e : step_done_)
    if (e) cudaEventDestroy(e);
  if (fork_) cudaEventDestroy(fork_);
  for (cudaStream_t s : lane_streams_) cudaStreamDestroy(s);
  if (own_stream_) cudaStreamDestroy(own_stream_);
  if (cublas_) cublasDestroy(cublas_);
  for (void* p : owned_) cudaFree(p);
}

Result<std::unique_ptr<ExecutionContext>> ExecutionContext::create(const Engine& engine, bool use_cuda_graph,
                                                                   const IoAddresses* io) {
  if (io && (io->inputs.size() != engine.input_slots_.size() || io->outputs.size() != engine.output_slots_.size()))
    return error(StatusCode::kInvalidArgument, "context I/O addresses: ", io->inputs.size(), " inputs and ",
                 io->outputs.size(), " outputs for an engine of ", engine.input_slots_.size(), " and ",
                 engine.output_slots_.size());
  std::unique_ptr<ExecutionContext> c(new ExecutionContext(engine));
  c->use_graph_ = use_cuda_graph;
  KILN_RETURN_IF_ERROR(c->allocate(io));
  return c;
}

// The engine's memory plan made real: one arena, workspaces and I/O buffers of this
// context's own (or the caller's arena and I/O, io), and the lanes' streams and events.
Status ExecutionContext::allocate(const IoAddresses* io) {
  const auto& slots = engine_.slots_;
  const Schedule& sched = engine_.schedule_;
  ExecState state;
  void* arena = io ? io->arena : nullptr;
  if (engine_.arena_bytes_ && !arena) {
    KILN_CUDA_TRY(cudaMalloc(&arena, engine_.arena_bytes_), "cudaMalloc activation arena");
    owned_.push_back(arena);
  }
  void* workspaces = nullptr;
  const size_t workspace = (engine_.workspace_bytes_ + 255) / 256 * 256;
  if (workspace) {
    KILN_CUDA_TRY(cudaMalloc(&workspaces, workspace * sched.lanes), "cudaMalloc cuDNN workspace");
    owned_.push_back(workspaces);
    state.workspace_bytes = engine_.workspace_bytes_;
  }
  if (engine_.uses_cublas()) {
    void* cublas_workspace = nullptr;
    KILN_CUDA_TRY(cudaMalloc(&cublas_workspace, kCublasWorkspace), "cudaMalloc cuBLAS workspace");
    owned_.push_back(cublas_workspace);
    KILN_RETURN_IF_ERROR(cublas_status(cublasCreate(&cublas_), "cublasCreate"));
    KILN_RETURN_IF_ERROR(
        cublas_status(cublasSetWorkspace(cublas_, cublas_workspace, kCublasWorkspace), "cublasSetWorkspace"));
  }
  state.ptr.assign(slots.size(), nullptr);
  auto io_address = [&](const IoAddresses& a, int slot) -> float* {
    for (size_t i = 0; i < engine_.input_slots_.size(); ++i)
      if (engine_.input_slots_[i] == slot) return a.inputs[i];
    for (size_t i = 0; i < engine_.output_slots_.size(); ++i)
      if (engine_.output_slots_[i] == slot) return a.outputs[i];
    return nullptr;
  };
  for (int s = 0; s < static_cast<int>(slots.size()); ++s) {
    const Slot& sl = slots[s];
    if (sl.constant) {
      state.ptr[s] = const_cast<void*>(sl.constant);
    } else if (sl.root >= 0) {
      state.ptr[s] = static_cast<uint8_t*>(state.ptr[sl.root]) + sl.offset;
    } else if (float* given = io ? io_address(*io, s) : nullptr) {
      state.ptr[s] = given;
    } else if (sl.persistent) {
      void* p = nullptr;
      KILN_CUDA_TRY(cudaMalloc(&p, std::max<size_t>(sl.bytes(), 16)), "cudaMalloc for '" + sl.name + "'");
      owned_.push_back(p);
      state.ptr[s] = p;
    } else {
      state.ptr[s] = static_cast<uint8_t*>(arena) + engine_.arena_offset_[s];
    }
  }
  state.cudnn = engine_.handles_.cudnn;
  state.cublas = cublas_;
  state.cublaslt = engine_.handles_.cublaslt;
  for (int l = 0; l < sched.lanes; ++l) {
    state_.push_back(state);
    if (workspaces) state_.back().workspace = static_cast<uint8_t*>(workspaces) + l * workspace;
  }
  if (sched.lanes == 1) return Status::Ok();
  lane_streams_.assign(sched.lanes - 1, nullptr);
  for (cudaStream_t& s : lane_streams_)
    KILN_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate for a lane");
  KILN_CUDA_TRY(cudaEventCreateWithFlags(&fork_, cudaEventDisableTiming), "cudaEventCreate");
  step_done_.assign(engine_.steps_.size(), nullptr);
  for (size_t i = 0; i < step_done_.size(); ++i)
    if (sched.signals[i])
      KILN_CUDA_TRY(cudaEventCreateWithFlags(&step_done_[i], cudaEventDisableTiming), "cudaEventCreate");
  return Status::Ok();
}

float* ExecutionContext::input(size_t i) const {
  return static_cast<float*>(state_[0].ptr[engine_.input_slots_.at(i)]);
}
const float* ExecutionContext::output(size_t i) const {
  return static_cast<const float*>(state_[0].ptr[engine_.output_slots_.at(i)]);
}

Status ExecutionContext::enqueue_steps(cudaStream_t stream) const {
  const auto& steps = engine_.steps_;
  const Schedule& sched = engine_.schedule_;
  if (sched.lanes == 1) {
    for (const auto& step : steps) KILN_RETURN_IF_ERROR(step->enqueue(state_[0], stream));
    return Status::Ok();
  }
  auto lane_stream = [&](int lane) { return lane == 0 ? stream : lane_streams_[lane - 1]; };
  KILN_CUDA_TRY(cudaEventRecord(fork_, stream), "cudaEventRecord");
  for (cudaStream_t s : lane_streams_) KILN_CUDA_TRY(cudaStreamWaitEvent(s, fork_, 0), "cudaStreamWaitEvent");
  for (size_t i = 0; i < steps.size(); ++i) {
    const int lane = sched.lane[i];
    cudaStream_t s = lane_stream(lane);
    for (int w : sched.waits[i]) KILN_CUDA_TRY(cudaStreamWaitEvent(s, step_done_[w], 0), "cudaStreamWaitEvent");
    KILN_RETURN_IF_ERROR(steps[i]->enqueue(state_[lane], s));
    if (sched.signals[i]) KILN_CUDA_TRY(cudaEventRecord(step_done_[i], s), "cudaEventRecord");
  }
  for (int l = 1; l < sched.lanes; ++l)
    KILN_CUDA_TRY(cudaStreamWaitEvent(stream, step_done_[sched.lane_last[l]], 0), "cudaStreamWaitEvent");
  return Status::Ok();
}

Result<std::vector<StepTime>> ExecutionContext::profile(cudaStream_t stream, int runs) {
  if (stream == nullptr) return error(StatusCode::kInvalidArgument, "profile needs a created stream, not the default one");
  const auto& steps = engine_.steps_;
  std::vector<cudaEvent_t> ev(steps.size() + 1, nullptr);
  std::vector<std::vector<float>> times(steps.size());
  Status st = Status::Ok();
  for (auto& e : ev)
    if (st.ok()) st = cuda_status(cudaEventCreate(&e), "cudaEventCreate");
  std::lock_guard<std::mutex> lock(engine_.capture_mu_);
  // The steps in plan order on one stream, an event between each two, captured into a
  // graph: each pair of events brackets one step as a graph replay runs it, without the
  // host's time to enqueue it (for a small step, far more than its kernel). External
  // records: a plain record inside a capture only orders streams, it records nothing.
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  if (st.ok()) st = cuda_status(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
  if (st.ok()) {
    for (size_t i = 0; i < steps.size() && st.ok(); ++i) {
      st = cuda_status(cudaEventRecordWithFlags(ev[i], stream, cudaEventRecordExternal), "cudaEventRecord");
      if (st.ok()) st = steps[i]->enqueue(state_[0], stream);
    }
    if (st.ok()) st = cuda_status(cudaEventRecordWithFlags(ev.back(), stream, cudaEventRecordExternal), "cudaEventRecord");
    const cudaError_t end = cudaStreamEndCapture(stream, &graph);
    if (st.ok()) st = cuda_status(end, "cudaStreamEndCapture");
  }
  if (st.ok()) st = cuda_status(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
  for (int r = 0; r < runs + 1 && st.ok(); ++r) {  // run 0 warms up
    st = cuda_status(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
    if (st.ok()) st = cuda_status(cudaStreamSynchronize(stream), "profiled run");
    for (size_t i = 0; i < steps.size() && st.ok() && r > 0; ++i) {
      float ms = 0;
      st = cuda_status(cudaEventElapsedTime(&ms, ev[i], ev[i + 1]), "cudaEventElapsedTime");
      times[i].push_back(ms);
    }
  }
  if (exec) cudaGraphExecDestroy(exec);
  if (graph) cudaGraphDestroy(graph);
  for (auto& e : ev)
    if (e) cudaEventDestroy(e);
  KILN_RETURN_IF_ERROR(st);
  std::vector<StepTime> out;
  for (size_t i = 0; i < steps.size(); ++i) {
    auto& t = times[i];
    std::sort(t.begin(), t.end());
    out.push_back({steps[i]->name, steps[i]->op, steps[i]->tactic, t.empty() ? 0.0 : t[t.size() / 2]});
  }
  return out;
}

Status ExecutionContext::enqueue(cudaStream_t stream) {
  if (stream == nullptr) return error(StatusCode::kInvalidArgument, "enqueue needs a created stream, not the default one");
  if (!use_graph_) {
    std::lock_guard<std::mutex> lock(engine_.capture_mu_);
    return enqueue_steps(stream);
  }
  if (!graph_exec_) {
    // The engine's cuDNN handle is set to this stream for each conv: one context at a time.
    std::lock_guard<std::mutex> lock(engine_.capture_mu_);
    // An eager run first: lazy module loading and library initialization stay out of
    // capture, and a context that runs once costs no capture.
    if (!ran_eagerly_) {
      KILN_RETURN_IF_ERROR(enqueue_steps(stream));
      ran_eagerly_ = true;
      return Status::Ok();
    }
    KILN_CUDA_TRY(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    Status st = enqueue_steps(stream);
    cudaGraph_t graph = nullptr;
    cudaError_t end = cudaStreamEndCapture(stream, &graph);
    KILN_RETURN_IF_ERROR(st);
    KILN_CUDA_TRY(end, "cudaStreamEndCapture");
    cudaError_t inst = cudaGraphInstantiate(&graph_exec_, graph, 0);
    cudaGraphDestroy(graph);
    KILN_CUDA_TRY(inst, "cudaGraphInstantiate");
  }
  KILN_CUDA_TRY(cudaGraphLaunch(graph_exec_, stream), "cudaGraphLaunch");
  return Status::Ok();
}

Result<std::vector<ir::Tensor>> ExecutionContext::run(const std::vector<ir::Tensor>& inputs) {
  if (inputs.size() != engine_.input_slots_.size())
    return error(StatusCode::kInvalidArgument, "expected ", engine_.input_slots_.size(), " inputs, got ", inputs.size());
  if (!own_stream_) KILN_CUDA_TRY(cudaStreamCreateWithFlags(&own_stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Slot& s = engine_.slots_[engine_.input_slots_[i]];
    if (inputs[i].dtype() != ir::DType::kFloat32 || inputs[i].shape() != s.dims)
      return error(StatusCode::kInvalidArgument, "input '", s.name, "' must be float32 ", ir::shape_to_string(s.dims),
                   ", got ", ir::dtype_name(inputs[i].dtype()), " ", ir::shape_to_string(inputs[i].shape()));
    KILN_CUDA_TRY(cudaMemcpyAsync(input(i), inputs[i].raw(), inputs[i].nbytes(), cudaMemcpyHostToDevice, own_stream_),
                  "copy of input '" + s.name + "'");
  }
  KILN_RETURN_IF_ERROR(enqueue(own_stream_));
  std::vector<ir::Tensor> outs;
  for (size_t i = 0; i < engine_.output_slots_.size(); ++i) {
    const Slot& s = engine_.slots_[engine_.output_slots_[i]];
    outs.emplace_back(ir::DType::kFloat32, s.dims);
    KILN_CUDA_TRY(cudaMemcpyAsync(outs.back().raw(), output(i), outs.back().nbytes(), cudaMemcpyDeviceToHost, own_stream_),
                  "copy of output '" + s.name + "'");
  }
  KILN_CUDA_TRY(cudaStreamSynchronize(own_stream_), "inference");
  return outs;
}

}  // namespace kiln::cuda
