// ReduceMean (axes as input or attribute, keepdims, noop_with_empty_axes) and
// GlobalAveragePool (mean over every dim after N and C), on either layout. In physical
// (memory) order the reduced dims must form one block, so the input is read as
// [outer, reduced, inner]: NHWC spatial means are [N, H*W, C], NCHW ones [N*C, H*W, 1].
// FP32 accumulation; the output keeps the input's physical order. A GlobalAveragePool that
// alone feeds a channel gate is the gate step's (ops/channel_gate.h).
#include <numeric>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/ops/channel_gate.h"
#include "backends/cuda/ops/shape_util.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

// Block: blockDim.x threads over a tile of inner elements (neighbouring threads read
// neighbouring addresses), blockDim.y threads splitting the reduced dim; partial sums meet
// in shared memory. Grid: (inner tiles, outer).
template <typename T>
__global__ void reduce_mean_kernel(const T* __restrict__ in, T* __restrict__ out, int64_t reduced, int64_t inner,
                                   float scale) {
  begin_kernel();
  extern __shared__ float partial[];
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const int64_t o = blockIdx.y;
  float sum = 0.f;
  if (i < inner) {
    const T* x = in + o * reduced * inner + i;
    // Eight independent loads in flight per thread: with one at a time the loop waits out a
    // memory latency per element (measured ~10 us for OSNet's [1,16,64,32] means).
    const int64_t step = blockDim.y;
    int64_t r = threadIdx.y;
    for (; r + 7 * step < reduced; r += 8 * step) {
      float v[8];
#pragma unroll
      for (int u = 0; u < 8; ++u) v[u] = to_float(x[(r + u * step) * inner]);
#pragma unroll
      for (int u = 0; u < 8; ++u) sum += v[u];
    }
    for (; r < reduced; r += step) sum += to_float(x[r * inner]);
  }
  partial[threadIdx.y * blockDim.x + threadIdx.x] = sum;
  __syncthreads();
  for (unsigned h = blockDim.y / 2; h > 0; h /= 2) {
    if (threadIdx.y < h) partial[threadIdx.y * blockDim.x + threadIdx.x] += partial[(threadIdx.y + h) * blockDim.x + threadIdx.x];
    __syncthreads();
  }
  if (threadIdx.y == 0 && i < inner) out[o * inner + i] = from_float<T>(partial[threadIdx.x] * scale);
}

int64_t pow2_at_least(int64_t v) {
  int64_t p = 1;
  while (p < v) p *= 2;
  return p;
}

class ReduceMeanStep : public Step {
 public:
  int in = 0, out = 0;
  int64_t outer = 1, reduced = 1, inner = 1;
  ir::DType type{};

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    if (outer * inner == 0) return Status::Ok();
    // Up to 32 threads along inner; along the reduced dim enough threads that each adds
    // about 8 values, at most 1024 per block (one block per outer row must still fill SMs
    // when outer is 1, as for a batch-1 global pool).
    const int64_t tx = std::min<int64_t>(32, pow2_at_least(inner));
    const int64_t ty = std::min<int64_t>(1024 / tx, pow2_at_least((reduced + 7) / 8));
    const dim3 block(static_cast<unsigned>(tx), static_cast<unsigned>(ty));
    const dim3 grid(static_cast<unsigned>((inner + tx - 1) / tx), static_cast<unsigned>(outer));
    const size_t smem = static_cast<size_t>(tx * ty) * sizeof(float);
    const float scale = reduced > 0 ? 1.f / static_cast<float>(reduced) : 0.f;
    bool ok = dispatch_float(type, [&](auto t) {
      using T = decltype(t);
      launch_kernel(reduce_mean_kernel<T>, grid, block, smem, stream, static_cast<const T*>(st.ptr[in]),
                    static_cast<T*>(st.ptr[out]), reduced, inner, scale);
    });
    if (!ok) return error(StatusCode::kUnsupported, name, ": dtype ", ir::dtype_name(type));
    return launch_status(name + ": reduce_mean");
  }
};

// The logical dim stored at each physical position (outermost first).
std::vector<int64_t> physical_order(const Slot& s) {
  if (s.layout == Layout::kNHWC) return {0, 2, 3, 1};
  std::vector<int64_t> order(s.dims.size());
  std::iota(order.begin(), order.end(), 0);
  return order;
}

}  // namespace

Status plan_reduce_mean(PlanBuilder& b, const ir::Node& node) {
  if (pools_into_channel_gate(b, node)) {
    b.skip_node(&node);
    return Status::Ok();
  }
  auto step = std::make_unique<ReduceMeanStep>();
  KILN_ASSIGN_OR_RETURN(step->in, b.input_any_layout(node, 0));
  const Slot src = b.slot(step->in);
  const int64_t rank = static_cast<int64_t>(src.dims.size());

  std::vector<int64_t> axes;
  bool keepdims = true;
  if (node.op_type == "GlobalAveragePool") {
    if (rank < 3) return error(StatusCode::kInvalidArgument, "input must have rank >= 3");
    for (int64_t d = 2; d < rank; ++d) axes.push_back(d);
  } else {
    if (node.input(1)) {
      const ir::Tensor* t = b.constant_input(node, 1);
      if (!t) return error(StatusCode::kUnsupported, "axes must be a constant");
      axes = t->as_int64();
    } else {
      axes = node.attr_ints("axes");
    }
    keepdims = node.attr_int("keepdims", 1) != 0;
    if (axes.empty() && node.attr_int("noop_with_empty_axes", 0) == 0) {
      axes.resize(static_cast<size_t>(rank));
      std::iota(axes.begin(), axes.end(), 0);
    }
  }
  std::vector<bool> is_reduced(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    const int64_t axis = normalize_axis(a, rank);
    if (axis < 0) return error(StatusCode::kInvalidArgument, "axis ", a, " out of range for rank ", rank);
    is_reduced[axis] = true;
  }

  // Walk the physical order (size-1 dims ignored): kept dims, then the reduced block, then
  // kept dims again.
  int phase = 0;  // 0: before the reduced block, 1: inside it, 2: after it
  for (int64_t d : physical_order(src)) {
    const int64_t size = src.dims[d];
    if (size == 1) continue;
    if (is_reduced[d]) {
      if (phase == 2)
        return error(StatusCode::kUnsupported, "reduced axes are not adjacent in memory for input ",
                     ir::shape_to_string(src.dims));
      phase = 1;
      step->reduced *= size;
    } else {
      if (phase == 1) phase = 2;
      (phase == 0 ? step->outer : step->inner) *= size;
    }
  }

  std::vector<int64_t> out_dims;
  for (int64_t d = 0; d < rank; ++d)
    if (!is_reduced[d] || keepdims) out_dims.push_back(is_reduced[d] ? 1 : src.dims[d]);
  // The kernel writes kept elements in the input's physical order. An NHWC input with dims
  // kept gives NHWC output. A rank-4 output whose H and W are 1 is the same bytes in both
  // layouts: take the one its sole consumer wants (Conv: NHWC; Flatten, Gemm: linear).
  Layout layout = Layout::kLinear;
  if (keepdims && rank == 4 && out_dims[2] == 1 && out_dims[3] == 1) {
    const ir::Node* next = b.sole_consumer(node.outputs[0]);
    if (next && next->op_type == "Conv") layout = Layout::kNHWC;
  } else if (src.layout == Layout::kNHWC && keepdims) {
    layout = Layout::kNHWC;
  } else if (src.layout == Layout::kNHWC) {
    // A linear output is right only if the kept dims keep their order (C after H, W breaks it).
    std::vector<int64_t> kept_physical, kept_logical;
    for (int64_t d : physical_order(src))
      if (!is_reduced[d] && src.dims[d] != 1) kept_physical.push_back(d);
    for (int64_t d = 0; d < rank; ++d)
      if (!is_reduced[d] && src.dims[d] != 1) kept_logical.push_back(d);
    if (kept_physical != kept_logical)
      return error(StatusCode::kUnsupported, "keepdims=0 over an NHWC input that keeps H or W beside C");
  }
  step->out = b.define(node.outputs[0], out_dims, layout);
  step->type = src.dtype;
  step->describe(node, "reduce_mean", {step->in}, {step->out});
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
