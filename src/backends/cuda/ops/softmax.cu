// Softmax (opset >= 13 semantics: one axis), linear layout; FP32 math with the max
// subtracted. Softmax over the last axis (attention scores): one warp per row, lanes
// reading consecutive elements. Otherwise one thread per (outer, inner) row, whose
// neighbours read neighbouring inner elements (the DFL's softmax over 16 bins).
//
// The DFL's expectation, a Softmax over axis 1 whose sole reader is a 1x1 Conv to one
// channel (constant weights: the bins' distances), is one step that writes the Conv's
// output in FP32: the softmax never lands in memory, and the Conv needs no NHWC copy of it
// (yolo11n at batch 32 on an H100: softmax 39 us, its NHWC copy 98 us, the cuDNN conv
// 38 us).
#include <algorithm>
#include <cfloat>
#include <climits>
#include <vector>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/ops/conv_nodes.h"
#include "backends/cuda/ops/shape_util.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

template <typename T>
__global__ void softmax_kernel(const T* __restrict__ in, T* __restrict__ out, int64_t outer, int64_t axis,
                               int64_t inner) {
  begin_kernel();
  const int64_t rows = outer * inner;
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = r / inner, i = r % inner;
    const T* x = in + o * axis * inner + i;
    T* y = out + o * axis * inner + i;
    float m = -FLT_MAX;
    for (int64_t a = 0; a < axis; ++a) m = fmaxf(m, to_float(x[a * inner]));
    float sum = 0.f;
    for (int64_t a = 0; a < axis; ++a) sum += __expf(to_float(x[a * inner]) - m);
    const float inv = 1.f / sum;
    for (int64_t a = 0; a < axis; ++a) y[a * inner] = from_float<T>(__expf(to_float(x[a * inner]) - m) * inv);
  }
}

template <typename T>
__global__ void softmax_last_axis_kernel(const T* __restrict__ in, T* __restrict__ out, int64_t rows, int axis) {
  begin_kernel();
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32; r < rows; r += warps) {
    const T* x = in + r * axis;
    T* y = out + r * axis;
    float m = -FLT_MAX;
    for (int a = lane; a < axis; a += 32) m = fmaxf(m, to_float(x[a]));
    for (int o = 16; o > 0; o /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float sum = 0.f;
    for (int a = lane; a < axis; a += 32) sum += __expf(to_float(x[a]) - m);
    for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    const float inv = 1.f / sum;
    for (int a = lane; a < axis; a += 32) y[a] = from_float<T>(__expf(to_float(x[a]) - m) * inv);
  }
}

// The DFL expectation's weights (and bias) by value: at most kMaxBins bins.
constexpr int kMaxBins = 32;
struct BinWeights {
  float w[kMaxBins];
  float bias;
};

// y[o, i] = bias + sum_a w[a] * softmax_a(x[o, :, i]): one thread per (outer, inner) row.
// Indices in I: 32 bits where the input fits (a 64-bit division is a call of some 70
// instructions).
template <typename T, typename I>
__global__ void softmax_expectation_kernel(const T* __restrict__ in, float* __restrict__ out, I outer, int axis,
                                           I inner, BinWeights bins) {
  begin_kernel();
  const I rows = outer * inner;
  for (I r = blockIdx.x * I(blockDim.x) + threadIdx.x; r < rows; r += I(gridDim.x) * blockDim.x) {
    const I o = r / inner, i = r % inner;
    const T* x = in + o * axis * inner + i;
    float v[kMaxBins];
    float m = -FLT_MAX;
#pragma unroll
    for (int a = 0; a < kMaxBins; ++a)
      if (a < axis) v[a] = to_float(x[a * inner]), m = fmaxf(m, v[a]);
    float sum = 0.f, dot = 0.f;
#pragma unroll
    for (int a = 0; a < kMaxBins; ++a)
      if (a < axis) {
        const float e = __expf(v[a] - m);
        sum += e;
        dot += e * bins.w[a];
      }
    out[r] = dot / sum + bins.bias;
  }
}

class SoftmaxExpectationStep : public Step {
 public:
  int in = 0, out = 0;
  int64_t outer = 0, axis = 0, inner = 0;
  BinWeights bins{};
  ir::DType type{};
  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    const bool ok = dispatch_float(type, [&](auto t) {
      using T = decltype(t);
      const T* x = static_cast<const T*>(st.ptr[in]);
      float* y = static_cast<float*>(st.ptr[out]);
      if (outer * axis * inner <= INT32_MAX)
        launch_kernel(softmax_expectation_kernel<T, uint32_t>, grid_for(outer * inner), kThreads, 0, stream, x, y,
                      uint32_t(outer), int(axis), uint32_t(inner), bins);
      else
        launch_kernel(softmax_expectation_kernel<T, int64_t>, grid_for(outer * inner), kThreads, 0, stream, x, y, outer,
                      int(axis), inner, bins);
    });
    if (!ok) return error(StatusCode::kUnsupported, name, ": softmax_expectation: dtype ", ir::dtype_name(type));
    Status s = launch_status("softmax_expectation");
    return s.ok() ? s : error(s.code(), name, ": ", s.message());
  }
};

// The Conv that alone reads a rank-4 Softmax over axis 1 of `bins` bins and takes them to
// one channel as a weighted sum (1x1, stride 1, no padding, one group, constant weights and
// bias: conv_nodes.h's pointwise_weight): the DFL. Null for any other reader.
const ir::Node* expectation_conv(const PlanBuilder& b, const ir::Node& softmax, int64_t rank, int64_t axis,
                                 int64_t bins) {
  if (rank != 4 || axis != 1 || bins > kMaxBins) return nullptr;
  const ir::Node* conv = sole_op(b, &softmax, {"Conv"});
  const ir::Tensor* w = pointwise_weight(b, conv);
  if (!w || w->dim(0) != 1 || w->dim(1) != bins) return nullptr;
  for (int64_t stride : conv->attr_ints("strides", {1, 1}))
    if (stride != 1) return nullptr;
  return conv;
}

class SoftmaxStep : public Step {
 public:
  int in = 0, out = 0;
  int64_t outer = 0, axis = 0, inner = 0;
  ir::DType type{};
  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    Status s = launch_softmax(st.ptr[in], st.ptr[out], type, outer, axis, inner, stream);
    return s.ok() ? s : error(s.code(), name, ": ", s.message());
  }
};

}  // namespace

Status launch_softmax(const void* in, void* out, ir::DType type, int64_t outer, int64_t axis, int64_t inner,
                      cudaStream_t stream) {
  if (outer * inner == 0 || axis == 0) return Status::Ok();
  if (inner == 1 && axis >= 32 && axis < (int64_t(1) << 31)) {
    bool ok = dispatch_float(type, [&](auto t) {
      using T = decltype(t);
      launch_kernel(softmax_last_axis_kernel<T>, grid_for(outer * 32), kThreads, 0, stream, static_cast<const T*>(in),
                    static_cast<T*>(out), outer, static_cast<int>(axis));
    });
    if (!ok) return error(StatusCode::kUnsupported, "softmax: dtype ", ir::dtype_name(type));
    return launch_status("softmax_last_axis");
  }
  bool ok = dispatch_float(type, [&](auto t) {
    using T = decltype(t);
    launch_kernel(softmax_kernel<T>, grid_for(outer * inner), kThreads, 0, stream, static_cast<const T*>(in),
                  static_cast<T*>(out), outer, axis, inner);
  });
  if (!ok) return error(StatusCode::kUnsupported, "softmax: dtype ", ir::dtype_name(type));
  return launch_status("softmax");
}

Status plan_softmax(PlanBuilder& b, const ir::Node& node) {
  KILN_ASSIGN_OR_RETURN(const int in, b.input(node, 0, Layout::kLinear));
  const Slot src = b.slot(in);
  const int64_t rank = static_cast<int64_t>(src.dims.size());
  const int64_t axis = normalize_axis(node.attr_int("axis", -1), rank);
  if (axis < 0) return error(StatusCode::kInvalidArgument, "axis out of range");
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= src.dims[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= src.dims[d];
  const int64_t bins = src.dims[axis];
  if (const ir::Node* conv = expectation_conv(b, node, rank, axis, bins)) {
    auto step = std::make_unique<SoftmaxExpectationStep>();
    step->in = in, step->outer = outer, step->axis = bins, step->inner = inner, step->type = src.dtype;
    const ir::Tensor w = b.constant_input(*conv, 1)->to_float32();
    std::copy(w.data<float>(), w.data<float>() + bins, step->bins.w);
    step->bins.bias = bias_of(b, *conv, 1)[0];
    std::vector<int64_t> dims = src.dims;
    dims[1] = 1;
    step->out = b.define(conv->outputs[0], dims, Layout::kLinear, ir::DType::kFloat32);
    step->describe(node, "softmax_expectation+conv", {step->in}, {step->out});
    b.skip_node(conv);
    b.add_step(std::move(step));
    return Status::Ok();
  }
  auto step = std::make_unique<SoftmaxStep>();
  step->in = in, step->outer = outer, step->axis = bins, step->inner = inner, step->type = src.dtype;
  step->out = b.define(node.outputs[0], src.dims, Layout::kLinear);
  step->describe(node, "softmax_rows", {step->in}, {step->out});
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
