// Softmax (opset >= 13 semantics: one axis), linear layout; FP32 math with the max
// subtracted. Softmax over the last axis (attention scores): one warp per row, lanes
// reading consecutive elements. Otherwise one thread per (outer, inner) row, whose
// neighbours read neighbouring inner elements (the DFL's softmax over 16 bins).
#include <cfloat>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"
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
  auto step = std::make_unique<SoftmaxStep>();
  KILN_ASSIGN_OR_RETURN(step->in, b.input(node, 0, Layout::kLinear));
  const Slot src = b.slot(step->in);
  const int64_t rank = static_cast<int64_t>(src.dims.size());
  const int64_t axis = normalize_axis(node.attr_int("axis", -1), rank);
  if (axis < 0) return error(StatusCode::kInvalidArgument, "axis out of range");
  step->outer = 1;
  step->inner = 1;
  for (int64_t d = 0; d < axis; ++d) step->outer *= src.dims[d];
  for (int64_t d = axis + 1; d < rank; ++d) step->inner *= src.dims[d];
  step->axis = src.dims[axis];
  step->out = b.define(node.outputs[0], src.dims, Layout::kLinear);
  step->type = src.dtype;
  step->describe(node, "softmax_rows", {step->in}, {step->out});
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
