// ReduceMean over `axes` (2nd input since opset 18, attribute before), keepdims,
// noop_with_empty_axes; no axes reduces everything.
#include <algorithm>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status reduce_mean(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 2));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 0, {ir::DType::kFloat32}));
  const ir::Tensor& x = *ctx.inputs[0];
  const int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<int64_t> axes = ctx.inputs.size() > 1 && ctx.inputs[1] ? ctx.inputs[1]->as_int64()
                                                                      : ctx.node.attr_ints("axes");
  if (axes.empty()) {
    if (ctx.node.attr_int("noop_with_empty_axes", 0) != 0) {
      ctx.outputs.push_back(x);
      return Status::Ok();
    }
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(a, rank));
    reduced[axis] = true;
  }
  const bool keepdims = ctx.node.attr_int("keepdims", 1) != 0;
  std::vector<int64_t> kept_shape, out_shape;  // kept_shape: input shape with reduced dims as 1
  for (int64_t d = 0; d < rank; ++d) {
    kept_shape.push_back(reduced[d] ? 1 : x.dim(d));
    if (!reduced[d] || keepdims) out_shape.push_back(reduced[d] ? 1 : x.dim(d));
  }
  const int64_t out_n = ir::shape_numel(kept_shape);
  const int64_t count = out_n == 0 ? 0 : x.numel() / out_n;
  std::vector<double> sums(static_cast<size_t>(out_n), 0.0);
  // Each input element adds into the output cell whose index ignores the reduced dims.
  const std::vector<int64_t> out_strides = broadcast_strides(kept_shape, x.shape());
  const float* src = x.data<float>();
  for_each_offset(x.shape(), out_strides, [&](int64_t i, int64_t off) { sums[off] += src[i]; });
  ir::Tensor y(ir::DType::kFloat32, out_shape);
  for (int64_t i = 0; i < out_n; ++i) y.data<float>()[i] = static_cast<float>(sums[i] / static_cast<double>(count));
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
