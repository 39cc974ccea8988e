// A squeeze-and-excitation gate's two 1x1 convs on pooled channels as one step: [N, C, 1, 1]
// -> Conv 1x1 (C -> H) -> ReLU or SiLU -> Conv 1x1 (H -> C) -> Sigmoid, as OSNet's 24 channel
// gates compute it (H = C / 16). As convs these were two cuDNN launches of a few
// microseconds each for a few thousand multiply-adds; here one block per image computes the
// hidden layer into shared memory (a warp per hidden unit), then the gate, in FP32.
#include <algorithm>
#include <initializer_list>
#include <vector>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

template <typename T>
__global__ void channel_gate_kernel(const T* __restrict__ in, const float* __restrict__ w1,
                                    const float* __restrict__ b1, const float* __restrict__ w2,
                                    const float* __restrict__ b2, T* __restrict__ out, int c, int hidden,
                                    bool silu_hidden) {
  extern __shared__ float pooled[];  // c inputs, then the hidden layer
  float* h = pooled + c;
  const int n = blockIdx.x;
  for (int i = threadIdx.x; i < c; i += blockDim.x) pooled[i] = to_float(in[n * c + i]);
  __syncthreads();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int j = warp; j < hidden; j += warps) {
    float s = 0.f;
    for (int i = lane; i < c; i += 32) s += w1[j * c + i] * pooled[i];
    for (int o = 16; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
    s += b1[j];
    if (lane == 0) h[j] = silu_hidden ? silu(s) : fmaxf(s, 0.f);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < c; i += blockDim.x) {
    float s = b2[i];
    for (int j = 0; j < hidden; ++j) s += w2[i * hidden + j] * h[j];
    out[n * c + i] = from_float<T>(sigmoid(s));
  }
}

class ChannelGateStep : public Step {
 public:
  int in = 0, out = 0;
  int n = 0, c = 0, hidden = 0;
  bool silu_hidden = false;
  const float *w1 = nullptr, *b1 = nullptr, *w2 = nullptr, *b2 = nullptr;
  ir::DType type{};

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    const size_t smem = static_cast<size_t>(c + hidden) * sizeof(float);
    bool ok = dispatch_float(type, [&](auto t) {
      using T = decltype(t);
      channel_gate_kernel<T><<<n, kThreads, smem, stream>>>(static_cast<const T*>(st.ptr[in]), w1, b1, w2, b2,
                                                            static_cast<T*>(st.ptr[out]), c, hidden, silu_hidden);
    });
    if (!ok) return error(StatusCode::kUnsupported, name, ": dtype ", ir::dtype_name(type));
    return launch_status(name + ": channel_gate");
  }
};

// A 1x1 conv of group 1 with no padding and a constant [out, in, 1, 1] weight.
const ir::Tensor* pointwise_weight(const PlanBuilder& b, const ir::Node* n) {
  if (!n || n->op_type != "Conv" || n->outputs.size() != 1 || n->attr_int("group", 1) != 1) return nullptr;
  for (int64_t p : n->attr_ints("pads", {0, 0, 0, 0}))
    if (p != 0) return nullptr;
  if (n->input(2) && !b.constant_input(*n, 2)) return nullptr;
  const ir::Tensor* w = b.constant_input(*n, 1);
  return w && w->rank() == 4 && w->dim(2) == 1 && w->dim(3) == 1 ? w : nullptr;
}

const ir::Node* sole_op(const PlanBuilder& b, const ir::Node* n, std::initializer_list<const char*> ops) {
  const ir::Node* next = n ? b.sole_consumer(n->outputs[0]) : nullptr;
  if (!next || next->outputs.size() != 1) return nullptr;
  for (const char* op : ops)
    if (next->op_type == op) return next;
  return nullptr;
}

// The bias of a conv as FP32 values (zeros without one).
std::vector<float> bias_of(const PlanBuilder& b, const ir::Node& n, int64_t count) {
  std::vector<float> v(static_cast<size_t>(count), 0.f);
  if (const ir::Tensor* t = b.constant_input(n, 2)) {
    const ir::Tensor f = t->to_float32();
    std::copy(f.data<float>(), f.data<float>() + std::min(count, f.numel()), v.begin());
  }
  return v;
}

}  // namespace

Result<bool> plan_channel_gate(PlanBuilder& b, const ir::Node& fc1) {
  const ir::Tensor* w1 = pointwise_weight(b, &fc1);
  const ir::Node* act1 = sole_op(b, &fc1, {"Relu", "SiLU"});
  const ir::Node* fc2 = sole_op(b, act1, {"Conv"});
  const ir::Tensor* w2 = pointwise_weight(b, fc2);
  const ir::Node* act2 = sole_op(b, fc2, {"Sigmoid"});
  if (!w1 || !w2 || !act2) return false;
  auto dims = b.dims_of(fc1, fc1.input(0));
  if (!dims.ok() || dims->size() != 4 || (*dims)[2] != 1 || (*dims)[3] != 1) return false;
  const int64_t n = (*dims)[0], c = (*dims)[1], hidden = w1->dim(0);
  if (w1->dim(1) != c || w2->dim(0) != c || w2->dim(1) != hidden || (c + hidden) * sizeof(float) > 48 * 1024)
    return false;
  if (fc1.input(0)->is_constant()) return false;
  auto step = std::make_unique<ChannelGateStep>();
  KILN_ASSIGN_OR_RETURN(step->in, b.input_any_layout(fc1, 0));
  const ir::Tensor f1 = w1->to_float32(), f2 = w2->to_float32();
  const std::vector<float> b1 = bias_of(b, fc1, hidden), b2 = bias_of(b, *fc2, c);
  KILN_ASSIGN_OR_RETURN(const void* pw1, b.upload(f1.raw(), f1.numel() * sizeof(float), fc1.name + " weights"));
  KILN_ASSIGN_OR_RETURN(const void* pb1, b.upload(b1.data(), b1.size() * sizeof(float), fc1.name + " bias"));
  KILN_ASSIGN_OR_RETURN(const void* pw2, b.upload(f2.raw(), f2.numel() * sizeof(float), fc2->name + " weights"));
  KILN_ASSIGN_OR_RETURN(const void* pb2, b.upload(b2.data(), b2.size() * sizeof(float), fc2->name + " bias"));
  step->w1 = static_cast<const float*>(pw1), step->b1 = static_cast<const float*>(pb1);
  step->w2 = static_cast<const float*>(pw2), step->b2 = static_cast<const float*>(pb2);
  step->n = static_cast<int>(n), step->c = static_cast<int>(c), step->hidden = static_cast<int>(hidden);
  step->silu_hidden = act1->op_type == "SiLU";
  step->type = b.act_dtype();
  step->out = b.define(act2->outputs[0], {n, c, 1, 1}, b.slot(step->in).layout);
  for (const ir::Node* fused : {act1, fc2, act2}) b.skip_node(fused);
  step->describe(fc1, "channel_gate", {step->in}, {step->out});
  b.add_step(std::move(step));
  return true;
}

}  // namespace kiln::cuda
