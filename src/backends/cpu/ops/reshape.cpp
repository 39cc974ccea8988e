// Reshape: 0 copies the input dim (unless allowzero), one -1 is inferred.
#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status reshape(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 2, 2));
  const ir::Tensor& x = *ctx.inputs[0];
  std::vector<int64_t> shape = ctx.inputs[1]->as_int64();
  const bool allowzero = ctx.node.attr_int("allowzero", 0) != 0;
  int64_t infer_at = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowzero) {
      if (i >= x.rank()) return error(StatusCode::kInvalidArgument, "0 at dim ", i, " beyond input rank ", x.rank());
      shape[i] = x.shape()[i];
    }
    if (shape[i] == -1) {
      if (infer_at >= 0) return error(StatusCode::kInvalidArgument, "more than one -1 in shape");
      infer_at = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      return error(StatusCode::kInvalidArgument, "invalid dim ", shape[i]);
    } else {
      known *= shape[i];
    }
  }
  if (infer_at >= 0) {
    if (known == 0 || x.numel() % known != 0)
      return error(StatusCode::kInvalidArgument, "cannot infer -1 reshaping ", ir::shape_to_string(x.shape()));
    shape[infer_at] = x.numel() / known;
  }
  if (ir::shape_numel(shape) != x.numel())
    return error(StatusCode::kInvalidArgument, "cannot reshape ", ir::shape_to_string(x.shape()), " to ",
                 ir::shape_to_string(shape));
  ctx.outputs.push_back(x.reshaped(shape));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
