// Softmax (opset >= 13 semantics: one axis), linear layout. One thread per
// (outer, inner) row; FP32 math with the max subtracted.
#include <cfloat>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/ops/shape_util.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

template <typename T>
__global__ void softmax_kernel(const T* __restrict__ in, T* __restrict__ out, int64_t outer, int64_t axis,
                               int64_t inner) {
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
  bool ok = dispatch_float(type, [&](auto t) {
    using T = decltype(t);
    softmax_kernel<T><<<grid_for(outer * inner), kThreads, 0, stream>>>(static_cast<const T*>(in),
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
  step->name = node.name;
  step->tactic = "softmax_rows";
  step->reads = {step->in};
  step->writes = {step->out};
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
