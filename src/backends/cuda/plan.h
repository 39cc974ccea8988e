// The CUDA backend's build-time view of a graph: Slots (device tensors with a layout) and
// Steps (one enqueued unit of work each: a kernel, a cuDNN plan, a cuBLAS call). Op planners
// (ops/*, found through registry.cpp) turn one ir::Node into Steps through PlanBuilder.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/cuda/timing_cache.h"
#include "backends/cuda/weight_store.h"
#include "ir/graph.h"
#include "kiln/options.h"
#include "kiln/status.h"

namespace kiln::cuda {

// Where a value lives inside a Concat's output buffer: channels [channel, channel + C) of
// `buffer` (the Concat's output value). Chosen by place_concat_operands (concat_views.h).
struct ChannelPlacement {
  const ir::Value* buffer = nullptr;
  int64_t channel = 0;
};

// The engine's precision (kiln/options.h): strict FP32, TF32 convolutions, FP16 storage
// with FP32 accumulation, or INT8 (QConvInt8 on int8 NHWC activations, the float parts at
// BuildOptions::int8_float).
using kiln::Precision;

// Physical layout of a slot. kNHWC only for rank-4 tensors whose logical dims are N,C,H,W.
enum class Layout : uint8_t { kLinear, kNHWC };

struct Slot {
  std::string name;
  std::vector<int64_t> dims;  // logical (ONNX) order
  Layout layout = Layout::kLinear;
  ir::DType dtype = ir::DType::kFloat32;
  int root = -1;              // slot owning the storage when this one is a view
  size_t offset = 0;          // byte offset into the root's storage (views)
  // kNHWC channel views (channels [c0, c0+C) of a root with more channels): elements from
  // one pixel to the next, i.e. the root's channel count; 0 when the slot is packed.
  int64_t pixel_stride = 0;
  bool persistent = false;    // graph inputs/outputs: own buffers, never reused
  const void* constant = nullptr;  // device weights (not in the arena)

  int64_t numel() const;
  size_t bytes() const;
  bool packed() const { return pixel_stride == 0; }
  // Stride of each logical dim, in elements, for this slot's layout.
  std::vector<int64_t> logical_strides() const;
};

// What a Step sees at enqueue time: the device address of every slot, and shared handles.
struct ExecState {
  std::vector<void*> ptr;  // by slot id
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  cublasLtHandle_t cublaslt = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

class Step {
 public:
  virtual ~Step() = default;
  virtual Status enqueue(const ExecState& state, cudaStream_t stream) const = 0;
  // True for steps that call cuBLAS (ExecState::cublas): only their contexts get a cuBLAS
  // handle and workspace.
  virtual bool uses_cublas() const { return false; }
  // Names the step after `node` and records its tactic and the slots it reads and writes.
  void describe(const ir::Node& node, std::string how, std::vector<int> in, std::vector<int> out) {
    name = node.name;
    tactic = std::move(how);
    reads = std::move(in);
    writes = std::move(out);
  }

  std::string name;        // node name (errors and the tactic report)
  std::string op;          // op type of the node it came from (profiles)
  std::string tactic;      // which implementation was chosen, e.g. "cudnn_fused" or "direct"
  std::vector<int> reads;  // slot ids, for liveness
  std::vector<int> writes;
};

// The engine's library handles (a cuBLAS handle is per execution context: ExecState).
struct Handles {
  cudnnHandle_t cudnn = nullptr;
  cublasLtHandle_t cublaslt = nullptr;
};

struct BuildOptions {
  Precision precision = Precision::kFp16;
  // Time cuDNN's best candidate engines per conv signature and keep the fastest; without
  // it, cuDNN's heuristic first choice is taken untimed.
  bool tune = true;
  // Candidates timed per signature, in cuDNN's heuristic order (it puts the fast ones
  // first). Each costs a kernel compile (tens of ms for runtime-fusion engines, far more
  // for some strided batch-32 graphs); they compile on one thread each, but cuDNN
  // serializes most of that work. yolo11n FP16 cold builds on one H200 (batch 1 / 32):
  // 1 candidate 4.5 / 5.1 s, 0.509 / 2.905 ms; 2: 8.4 / 8.1 s, 0.446 / 2.807 ms;
  // 3: 10.6 / 20.9 s, 0.443 / 2.801 ms.
  int tune_candidates = 2;
  // Reuse and record tuned choices in a timing cache file (in memory only when
  // timing_cache_path is empty).
  bool timing_cache = true;
  std::string timing_cache_path;
  // An engine file's recorded choices (TimingCache::parse of the Engine::recorded_plans()
  // of the builds that made it), parsed once for all its batches: the build replays them
  // and neither tunes nor compiles; a recorded plan that cannot be restored here is an
  // Incompatible error.
  std::shared_ptr<const TimingEntries> recorded_plans;
  // Threads restoring recorded cuDNN plans at once: more restore faster, but each needs a
  // cuDNN handle of its own, whose creation costs about as much as a few restores.
  int restore_threads = 4;
  // CUDA streams on which independent steps may run at once (schedule.h); 1: every step
  // in plan order on the caller's stream. Each lane needs a workspace of its own.
  int lanes = 4;
  // Largest cuDNN / cuBLASLt workspace a tactic may use (0: no cap); candidates needing
  // more are skipped and counted in BuildStats::over_workspace.
  size_t max_workspace_bytes = 0;
  bool direct_conv = false;  // skip cuDNN: own direct conv kernel everywhere (debugging, reference)
  // false: plan only with kernels that exist before the build, kiln's own and cuDNN's
  // precompiled engines. cuDNN's fused conv graphs have only runtime-compiled engines, so
  // each conv runs alone with our bias/activation kernel after it. Nothing is compiled, and
  // no module is loaded per engine: a dynamic model's new input size plans in milliseconds
  // and shares its kernels with every other size, running slower than a tuned engine.
  bool runtime_compiled_kernels = true;
  // Set: planning stops with a Cancelled error soon after it turns true (before the next
  // conv plan; plan-compile workers are killed).
  const std::atomic<bool>* cancel = nullptr;
  bool fuse_residual = true;  // fold Conv(->SiLU)->Add(residual) into the conv's cuDNN graph
  // FP16 engines compute the cheap tail after the last heavy op in FP32 (fp32_tail.h).
  bool fp32_tail = true;
  // The precision of an INT8 engine's float parts (kFp16 or kFp32): everything but
  // QConvInt8 and the int8 tensors between them.
  Precision int8_float = Precision::kFp16;
  // QConvInt8's tiled kernel on tensor cores (mma.sync) where the GPU has them; off: dp4a
  // everywhere (debugging, reference).
  bool int8_tensor_cores = true;
};

// The precision the float parts of an engine built with `o` run at.
inline Precision float_precision(const BuildOptions& o) {
  return o.precision == Precision::kInt8 ? o.int8_float : o.precision;
}

// Where build time went (seconds) and how conv plans were chosen.
struct BuildStats {
  double total_s = 0;
  double heuristics_s = 0;  // heuristics of the serial fallback walk (the rest are in compile_s)
  double compile_s = 0;     // cuDNN operation graphs, heuristics and plan builds (runtime-
                            // compiled kernels included), wall time
  double tune_s = 0;        // timing candidate plans on the GPU
  int convs = 0;            // conv steps
  int conv_signatures = 0;  // distinct conv signatures (one plan each, shared by the rest)
  int cache_hits = 0;       // signatures whose choice came from the timing cache
  int tuned = 0;            // signatures timed in this build
  int residual_fused = 0;   // Adds folded into a conv graph
  int channel_views = 0;    // Concat operands written in place and Split outputs viewed (no copy)
  int plans_loaded = 0;     // cache hits whose compiled plan was loaded (no compile)
  int plans_restored_ahead = 0;  // of those, restored on several threads before planning
  int fp32_tail_nodes = 0;  // nodes of an FP16 engine computed in FP32 (fp32_tail.h)
  std::vector<int> wins_by_rank;  // tuned signatures won by cuDNN's 1st, 2nd, ... candidate
  int over_workspace = 0;         // candidates skipped for needing more than the workspace cap
  int compile_processes = 0;      // worker processes that compiled conv plans (plan_compile_workers.h)
};

struct ConvRequest;  // ops/conv_cudnn.h

class PlanBuilder {
 public:
  // Constants go to `weights`, which the plan's engine keeps (and may share).
  PlanBuilder(const ir::Graph& graph, const BuildOptions& options, Handles handles,
              std::shared_ptr<WeightStore> weights);
  ~PlanBuilder();

  const BuildOptions& options() const { return options_; }
  const ir::Graph& graph() const { return graph_; }
  // Dtype of the activations of the node being planned: the engine's (float32 or float16),
  // or float32 for the FP32 tail of an FP16 engine (fp32_tail.h).
  ir::DType act_dtype() const { return act_dtype_; }
  // The activation dtype `node` is planned in (a fused step spanning nodes checks they agree).
  ir::DType act_dtype_of(const ir::Node* node) const {
    return fp32_nodes_.count(node) ? ir::DType::kFloat32 : engine_dtype_;
  }
  Handles handles() const { return handles_; }

  // Slot of node input i converted (by an inserted copy step, cached) to the activation
  // dtype and to `layout`.
  Result<int> input(const ir::Node& node, size_t i, Layout layout);
  // Same, keeping whatever layout the value already has. Both give packed slots: a channel
  // view is copied out first (most kernels index packed tensors).
  Result<int> input_any_layout(const ir::Node& node, size_t i);
  // Like input_any_layout (or input() with `layout`), but a channel view in the activation
  // dtype comes as it is (views are kNHWC): for steps that read through
  // Slot::logical_strides(), Slot::pixel_stride or explicit cuDNN strides.
  Result<int> input_keep_views(const ir::Node& node, size_t i, std::optional<Layout> layout = std::nullopt);
  // Slot of node input i as a packed tensor of `dtype` in `layout`: a float input converted
  // like input(), an int8 one (QuantizeLinear / QConvInt8 outputs) re-laid out but never
  // converted to or from float (that takes a DequantizeLinear / QuantizeLinear).
  Result<int> input_as(const ir::Node& node, size_t i, Layout layout, ir::DType dtype);
  // The slot of node input i as computed, no conversion (a kernel that reads the graph's
  // FP32 NCHW input directly).
  Result<int> input_as_is(const ir::Node& node, size_t i);
  // The constant tensor behind node input i, or nullptr if it is a runtime value.
  const ir::Tensor* constant_input(const ir::Node& node, size_t i) const;
  // Static logical dims of a value (error naming the node if unknown or symbolic).
  Result<std::vector<int64_t>> dims_of(const ir::Node& node, const ir::Value* v) const;

  // Defines the slot of `value` (a node output) in the activation dtype, or in `dtype`.
  int define(const ir::Value* value, std::vector<int64_t> dims, Layout layout);
  int define(const ir::Value* value, std::vector<int64_t> dims, Layout layout, ir::DType dtype);
  // Defines `value` as a view of `base` at `byte_offset` (no copy; same storage).
  int define_view(const ir::Value* value, int base, size_t byte_offset, std::vector<int64_t> dims);
  // Defines `value` as channels [c0, c0 + channels) of the kNHWC slot `base` (no copy).
  int define_channel_view(const ir::Value* value, int base, int64_t c0, int64_t channels);
  // Pixel stride `value` would have as a channel view of the Concat buffer it was placed in
  // (concat_views.h); 0 when it is not placed.
  int64_t placed_pixel_stride(const ir::Value* value) const;
  // Defines a kNHWC `value` in place in its Concat buffer when it was placed there (its
  // producer writes through strides), else as define() does.
  int define_placed(const ir::Value* value, std::vector<int64_t> dims);
  // The slot already defined for `value`, or -1.
  int slot_of_value(const ir::Value* value) const {
    auto it = value_slot_.find(value);
    return it == value_slot_.end() ? -1 : it->second;
  }
  // Lets a value name an existing slot (e.g. a fused activation's output).
  void alias(const ir::Value* value, int slot) { value_slot_[value] = slot; }
  // Uploads host data to the device through the weight store (identical bytes are shared);
  // returns the device pointer.
  Result<const void*> upload(const void* data, size_t bytes, const std::string& what);
  const std::shared_ptr<WeightStore>& weights() const { return weights_; }
  // Marks a node as handled by an earlier fused step (e.g. SiLU folded into its Conv).
  void skip_node(const ir::Node* node) { skipped_.insert({node, true}); }
  bool is_skipped(const ir::Node* node) const { return skipped_.count(node) != 0; }
  // The single consumer of `v` if it has exactly one and is not a graph output.
  const ir::Node* sole_consumer(const ir::Value* v) const;

  void add_step(std::unique_ptr<Step> step) { steps_.push_back(std::move(step)); }
  void need_workspace(size_t bytes) { workspace_bytes_ = std::max(workspace_bytes_, bytes); }
  Slot& slot(int id) { return slots_[id]; }

  // Build-time services for op planners: stats, the timing cache (null when disabled), a
  // key naming this GPU and cuDNN version, and plans shared between identical layers
  // (type-erased so this header needs no cuDNN frontend).
  BuildStats& stats() { return stats_; }
  TimingCache* timing_cache() const { return timing_cache_; }
  void set_timing_cache(TimingCache* cache, std::string device_key) {
    timing_cache_ = cache;
    device_key_ = std::move(device_key);
  }
  const std::string& device_key() const { return device_key_; }
  std::map<std::string, std::shared_ptr<void>>& shared_plans() { return shared_plans_; }
  // Plans restored ahead of planning (from a recorded or the timing cache), by their key.
  std::map<std::string, std::shared_ptr<void>>& restored_plans() { return restored_plans_; }
  // Candidate plans compiled in worker processes, by conv signature, to be timed when the
  // planner asks for them (plan_compile_workers.h).
  std::map<std::string, std::shared_ptr<void>>& precompiled_plans() { return precompiled_plans_; }
  // A dry planning pass: every conv request is noted in `sink` (once per signature) and
  // answered with an uncompiled plan, so that planning goes on as if it had built; nothing
  // is compiled, and the pass's steps are dropped (plan_compile_workers.h).
  void collect_conv_requests(std::vector<ConvRequest>* sink) { conv_requests_ = sink; }
  std::vector<ConvRequest>* conv_request_sink() const { return conv_requests_; }
  // Extra cuDNN handles for plan compiles on worker threads (a handle must not be used by
  // two threads at once), created on first use; whoever takes the plan owns them and must
  // destroy them after the plans built through them.
  Result<cudnnHandle_t> worker_cudnn(size_t i);

  // Plans every node; result in slots()/steps().
  Status build();
  // Graph input/output slot ids in graph order.
  const std::vector<int>& input_slots() const { return input_slots_; }
  const std::vector<int>& output_slots() const { return output_slots_; }

  std::vector<Slot> slots_;
  std::vector<std::unique_ptr<Step>> steps_;
  std::vector<cudnnHandle_t> worker_cudnn_;  // see worker_cudnn()
  size_t workspace_bytes_ = 0;

 private:
  int new_slot(Slot s);
  Result<int> slot_of(const ir::Node& node, const ir::Value* v);
  Result<int> convert(int src, Layout layout, ir::DType dtype, const std::string& why);

  const ir::Graph& graph_;
  BuildOptions options_;
  Handles handles_;
  std::map<const ir::Value*, int> value_slot_;
  std::map<std::pair<const ir::Value*, ir::DType>, int> constant_slots_;  // uploads, by dtype
  ir::DType act_dtype_ = ir::DType::kFloat32;
  ir::DType engine_dtype_ = ir::DType::kFloat32;
  std::set<const ir::Node*> fp32_nodes_;  // the FP32 tail of an FP16 engine
  std::map<std::pair<int, int>, int> converted_;  // (slot, layout*16+dtype) -> slot
  std::map<const ir::Node*, bool> skipped_;
  std::vector<int> input_slots_, output_slots_;
  BuildStats stats_;
  std::shared_ptr<WeightStore> weights_;
  TimingCache* timing_cache_ = nullptr;
  std::string device_key_;
  std::map<std::string, std::shared_ptr<void>> shared_plans_;
  std::map<std::string, std::shared_ptr<void>> restored_plans_;
  std::map<std::string, std::shared_ptr<void>> precompiled_plans_;
  std::vector<ConvRequest>* conv_requests_ = nullptr;
  std::map<const ir::Value*, ChannelPlacement> placements_;  // see concat_views.h
};

using OpPlanner = Status (*)(PlanBuilder& b, const ir::Node& node);
// The planner for `op_type`, or nullptr.
OpPlanner find_op(std::string_view op_type);

// Declared here, defined one per file in ops/.
Status plan_conv(PlanBuilder& b, const ir::Node& node);
// The first 1x1 conv of a squeeze-and-excitation gate on pooled channels ([N, C, 1, 1] -> Conv
// -> ReLU/SiLU -> Conv -> Sigmoid) and the nodes after it as one channel_gate step; false
// (nothing planned) when `node` does not start one (ops/channel_gate.cu).
Result<bool> plan_channel_gate(PlanBuilder& b, const ir::Node& node);
// A 1x1 conv that alone feeds a 3x3 depthwise conv (stride 1, padding 1; its activation
// with it), both of at most 64 channels, as one pointwise_depthwise step planned at the 1x1;
// false (nothing planned) when `node` does not start one (ops/conv_pointwise_depthwise.cu).
Result<bool> plan_pointwise_depthwise(PlanBuilder& b, const ir::Node& node);
// A sum of gate products (x * g, g a [N, C, 1, 1] gate of the NHWC x; OSNet's aggregation
// gate) as one gated_sum step, planned at the tree's root Add; true when `node` (an Add or
// Mul) belongs to such a tree, whose other nodes are then planned as nothing (ops/gated_sum.cu).
Result<bool> plan_gated_sum(PlanBuilder& b, const ir::Node& node);
Status plan_unary(PlanBuilder& b, const ir::Node& node);
Status plan_binary(PlanBuilder& b, const ir::Node& node);
Status plan_concat(PlanBuilder& b, const ir::Node& node);
Status plan_split(PlanBuilder& b, const ir::Node& node);
Status plan_slice(PlanBuilder& b, const ir::Node& node);
Status plan_reshape(PlanBuilder& b, const ir::Node& node);
Status plan_transpose(PlanBuilder& b, const ir::Node& node);
Status plan_maxpool(PlanBuilder& b, const ir::Node& node);
Status plan_resize(PlanBuilder& b, const ir::Node& node);
Status plan_softmax(PlanBuilder& b, const ir::Node& node);
Status plan_matmul(PlanBuilder& b, const ir::Node& node);
Status plan_gemm(PlanBuilder& b, const ir::Node& node);
Status plan_conv_transpose(PlanBuilder& b, const ir::Node& node);
Status plan_average_pool(PlanBuilder& b, const ir::Node& node);
Status plan_reduce_mean(PlanBuilder& b, const ir::Node& node);  // ReduceMean, GlobalAveragePool
Status plan_batch_norm(PlanBuilder& b, const ir::Node& node);
Status plan_qconv_int8(PlanBuilder& b, const ir::Node& node);
Status plan_quantize_linear(PlanBuilder& b, const ir::Node& node);
Status plan_dequantize_linear(PlanBuilder& b, const ir::Node& node);

// Restores the serialized conv plans of a recorded timing cache (an engine file's) on up to
// `threads` threads, one cuDNN handle each, before the planner asks for them one conv at a
// time; a plan that does not restore is left for the planner to report (conv_cudnn.cpp).
Status restore_recorded_conv_plans(PlanBuilder& b, int threads);
// Whether b's timing cache holds conv plans of b's batch: a warm build, or a new input size
// of a dynamic model, whose plans are mostly cached (conv_cudnn.cpp).
bool batch_planned_before(const PlanBuilder& b);
// Such a build's cached plans, restored ahead of planning on up to `threads` threads (one
// after another they cost about 3 ms each, over 0.2 s for yolo11n): the plans that a dry
// pass's requests find in the timing cache; the rest compile as the planner meets them.
Status restore_cached_conv_plans(const ir::Graph& graph, PlanBuilder& b, int threads);

// A step that copies `src` into `dst` through launch_strided_copy; used by many planners.
// `dims` are iterated; strides/offsets are in elements.
std::unique_ptr<Step> make_copy_step(std::string name, int src, int dst, std::vector<int64_t> dims,
                                     std::vector<int64_t> src_strides, int64_t src_offset,
                                     std::vector<int64_t> dst_strides, int64_t dst_offset, ir::DType src_type,
                                     ir::DType dst_type);

// One copy of a group; strides/offsets in elements.
struct CopySpec {
  int src = 0, dst = 0;
  std::vector<int64_t> dims, src_strides;
  int64_t src_offset = 0;
  std::vector<int64_t> dst_strides;
  int64_t dst_offset = 0;
};
// A step that runs several copies of one dtype in one kernel launch (a Concat's operands, a
// Split's outputs): one launch instead of one per operand.
std::unique_ptr<Step> make_copy_group_step(std::string name, std::vector<CopySpec> copies, ir::DType type);

}  // namespace kiln::cuda
