// Flatten to 2-D: dims before `axis` become rows, the rest columns.
#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status flatten(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 1));
  const ir::Tensor& x = *ctx.inputs[0];
  const int64_t rank = static_cast<int64_t>(x.rank());
  int64_t axis = ctx.node.attr_int("axis", 1);
  if (axis < -rank || axis > rank)
    return error(StatusCode::kInvalidArgument, "axis ", axis, " out of range for rank ", rank);
  if (axis < 0) axis += rank;
  int64_t rows = 1;
  for (int64_t d = 0; d < axis; ++d) rows *= x.shape()[d];
  ctx.outputs.push_back(x.reshaped({rows, rows == 0 ? 0 : x.numel() / rows}));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
