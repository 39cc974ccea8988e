// Unsqueeze: inserts size-1 dims at `axes` (2nd input since opset 13; the attribute form
// of older opsets is accepted too).
#include <algorithm>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status unsqueeze(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 2));
  const ir::Tensor& x = *ctx.inputs[0];
  std::vector<int64_t> axes = ctx.inputs.size() > 1 && ctx.inputs[1] ? ctx.inputs[1]->as_int64()
                                                                      : ctx.node.attr_ints("axes");
  if (axes.empty()) return error(StatusCode::kInvalidArgument, "axes are missing");
  const int64_t out_rank = static_cast<int64_t>(x.rank() + axes.size());
  for (int64_t& a : axes) {
    KILN_ASSIGN_OR_RETURN(a, normalize_axis(a, out_rank));
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    return error(StatusCode::kInvalidArgument, "axes repeat");
  std::vector<int64_t> out_shape;
  size_t next_in = 0, next_axis = 0;
  for (int64_t d = 0; d < out_rank; ++d) {
    if (next_axis < axes.size() && axes[next_axis] == d) {
      out_shape.push_back(1);
      ++next_axis;
    } else {
      out_shape.push_back(x.shape()[next_in++]);
    }
  }
  ctx.outputs.push_back(x.reshaped(out_shape));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
