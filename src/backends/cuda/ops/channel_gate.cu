// A squeeze-and-excitation gate's two 1x1 convs on pooled channels as one step: [N, C, 1, 1]
// -> Conv 1x1 (C -> H) -> ReLU or SiLU -> Conv 1x1 (H -> C) -> Sigmoid, as OSNet's 24 channel
// gates compute it (H = C / 16). As convs these were two cuDNN launches of a few
// microseconds each for a few thousand multiply-adds; here one block per image computes the
// hidden layer into shared memory (a warp per hidden unit), then the gate, in FP32. The
// GlobalAveragePool that feeds such a gate alone is planned as nothing and its means taken
// in the same block (OSNet: 24 reduce_mean launches fewer).
#include <algorithm>
#include <optional>
#include <vector>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/ops/channel_gate.h"
#include "backends/cuda/ops/channel_gate_mlp.cuh"
#include "backends/cuda/ops/conv_nodes.h"
#include "backends/cuda/ops/gated_sum.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

// `hw` > 1: `in` is the gated tensor itself, [n, hw, c] NHWC, and the block first takes its
// per-channel means (the GlobalAveragePool before the gate), rounded to T as the pool's
// output would be stored; hw == 1: `in` holds the means.
template <typename T>
__global__ void channel_gate_kernel(const T* __restrict__ in, GateWeights w, T* __restrict__ out, int c, int hidden,
                                    int hw, bool silu_hidden) {
  begin_kernel();
  extern __shared__ float pooled[];  // c inputs, then the hidden layer, then the pool's partial sums
  float* h = pooled + c;
  const int n = blockIdx.x;
  if (hw == 1) {
    for (int i = threadIdx.x; i < c; i += blockDim.x) pooled[i] = to_float(in[n * c + i]);
  } else {
    // blockDim.x / c lanes of pixels (at least one), each summing every lanes-th pixel of
    // each channel; neighbouring threads read neighbouring channels.
    float* partial = h + hidden;
    const int lanes = max(1, static_cast<int>(blockDim.x) / c);
    const T* image = in + static_cast<size_t>(n) * hw * c;
    for (int i = threadIdx.x; i < lanes * c; i += blockDim.x) {
      const int ch = i % c;
      float s = 0.f;
#pragma unroll 8
      for (int p = i / c; p < hw; p += lanes) s += to_float(image[static_cast<size_t>(p) * c + ch]);
      partial[i] = s;
    }
    __syncthreads();
    const float scale = 1.f / static_cast<float>(hw);
    for (int i = threadIdx.x; i < c; i += blockDim.x) {
      float s = 0.f;
      for (int lane = 0; lane < lanes; ++lane) s += partial[lane * c + i];
      pooled[i] = to_float(from_float<T>(s * scale));
    }
  }
  __syncthreads();
  const int warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int j = warp; j < hidden; j += warps) {
    const float unit = gate_hidden_unit(w, pooled, c, j, silu_hidden);
    if (threadIdx.x % 32 == 0) h[j] = unit;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < c; i += blockDim.x) out[n * c + i] = from_float<T>(gate_of_channel(w, h, hidden, i));
}

// Threads of a block that pools first: more pixel lanes for the sums.
constexpr int kPoolThreads = 1024;

class ChannelGateStep : public Step {
 public:
  int in = 0, out = 0;
  int n = 0, c = 0, hidden = 0, hw = 1;
  bool silu_hidden = false;
  GateWeights weights;
  ir::DType type{};

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    const int threads = hw > 1 ? kPoolThreads : kThreads;
    bool ok = dispatch_float(type, [&](auto t) {
      using T = decltype(t);
      launch_kernel(channel_gate_kernel<T>, n, threads, shared_bytes(c, hidden, hw), stream,
                    static_cast<const T*>(st.ptr[in]), weights, static_cast<T*>(st.ptr[out]), c, hidden, hw,
                    silu_hidden);
    });
    if (!ok) return error(StatusCode::kUnsupported, name, ": dtype ", ir::dtype_name(type));
    return launch_status(name + ": channel_gate");
  }

  // The means, the hidden layer and (pooling) a partial sum per thread, at least one per channel.
  static size_t shared_bytes(int64_t c, int64_t hidden, int64_t hw) {
    const int64_t partial = hw > 1 ? std::max<int64_t>(kPoolThreads, c) + c : 0;
    return static_cast<size_t>(c + hidden + partial) * sizeof(float);
  }
};

}  // namespace

std::optional<Gate> gate_at(const PlanBuilder& b, const ir::Node& fc1) {
  Gate g;
  g.w1 = pointwise_weight(b, &fc1);
  g.act1 = sole_op(b, &fc1, {"Relu", "SiLU"});
  g.fc2 = sole_op(b, g.act1, {"Conv"});
  g.w2 = pointwise_weight(b, g.fc2);
  g.act2 = sole_op(b, g.fc2, {"Sigmoid"});
  if (!g.w1 || !g.w2 || !g.act2 || fc1.input(0)->is_constant()) return std::nullopt;
  auto dims = b.dims_of(fc1, fc1.input(0));
  if (!dims.ok() || dims->size() != 4 || (*dims)[2] != 1 || (*dims)[3] != 1) return std::nullopt;
  g.n = (*dims)[0], g.c = (*dims)[1], g.hidden = g.w1->dim(0);
  if (g.w1->dim(1) != g.c || g.w2->dim(0) != g.c || g.w2->dim(1) != g.hidden ||
      ChannelGateStep::shared_bytes(g.c, g.hidden, 1) > kMaxSharedBytes || g.n > 65535)
    return std::nullopt;
  return g;
}

bool pools_into_channel_gate(const PlanBuilder& b, const ir::Node& pool) {
  if (pool.op_type != "GlobalAveragePool" || pool.input(0)->is_constant()) return false;
  const ir::Node* fc1 = b.sole_consumer(pool.outputs[0]);
  if (!fc1 || fc1->op_type != "Conv") return false;
  const std::optional<Gate> g = gate_at(b, *fc1);
  if (!g) return false;
  auto dims = b.dims_of(pool, pool.input(0));
  // Room for the pool's partial sums; the kernel indexes the pooled image with 32-bit counts.
  return dims.ok() && dims->size() == 4 && ChannelGateStep::shared_bytes(g->c, g->hidden, 2) <= kMaxSharedBytes &&
         (*dims)[2] * (*dims)[3] < (int64_t{1} << 31) / std::max<int64_t>(1, (*dims)[1]) &&
         b.act_dtype_of(&pool) == b.act_dtype_of(fc1);
}

Result<GateWeights> upload_gate(PlanBuilder& b, const ir::Node& fc1, const Gate& g) {
  const ir::Tensor f1 = g.w1->to_float32(), f2 = g.w2->to_float32();
  const std::vector<float> b1 = bias_of(b, fc1, g.hidden), b2 = bias_of(b, *g.fc2, g.c);
  KILN_ASSIGN_OR_RETURN(const void* pw1, b.upload(f1.raw(), f1.numel() * sizeof(float), fc1.name + " weights"));
  KILN_ASSIGN_OR_RETURN(const void* pb1, b.upload(b1.data(), b1.size() * sizeof(float), fc1.name + " bias"));
  KILN_ASSIGN_OR_RETURN(const void* pw2, b.upload(f2.raw(), f2.numel() * sizeof(float), g.fc2->name + " weights"));
  KILN_ASSIGN_OR_RETURN(const void* pb2, b.upload(b2.data(), b2.size() * sizeof(float), g.fc2->name + " bias"));
  return GateWeights{static_cast<const float*>(pw1), static_cast<const float*>(pb1), static_cast<const float*>(pw2),
                     static_cast<const float*>(pb2)};
}

Result<bool> plan_channel_gate(PlanBuilder& b, const ir::Node& fc1) {
  const std::optional<Gate> g = gate_at(b, fc1);
  if (!g) return false;
  if (gate_folds_into_sum(b, fc1)) {  // computed by the gated sum it feeds: nothing to plan
    for (const ir::Node* fused : {g->act1, g->fc2, g->act2}) b.skip_node(fused);
    return true;
  }
  auto step = std::make_unique<ChannelGateStep>();
  // A pool planned as nothing (pools_into_channel_gate): the gate reads the pooled tensor.
  const ir::Node* pool = fc1.input(0)->producer;
  if (pool && b.is_skipped(pool) && pools_into_channel_gate(b, *pool)) {
    KILN_ASSIGN_OR_RETURN(step->in, b.input(*pool, 0, Layout::kNHWC));
    const std::vector<int64_t>& d = b.slot(step->in).dims;
    step->hw = static_cast<int>(d[2] * d[3]);
  } else {
    KILN_ASSIGN_OR_RETURN(step->in, b.input_any_layout(fc1, 0));
  }
  KILN_ASSIGN_OR_RETURN(step->weights, upload_gate(b, fc1, *g));
  step->n = static_cast<int>(g->n), step->c = static_cast<int>(g->c), step->hidden = static_cast<int>(g->hidden);
  step->silu_hidden = g->act1->op_type == "SiLU";
  step->type = b.act_dtype();
  step->out = b.define(g->act2->outputs[0], {g->n, g->c, 1, 1}, step->hw > 1 ? Layout::kNHWC : b.slot(step->in).layout);
  for (const ir::Node* fused : {g->act1, g->fc2, g->act2}) b.skip_node(fused);
  step->describe(fc1, step->hw > 1 ? "channel_gate+pool" : "channel_gate", {step->in}, {step->out});
  b.add_step(std::move(step));
  return true;
}

}  // namespace kiln::cuda
