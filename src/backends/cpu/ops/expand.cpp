// Expand: bidirectional (numpy) broadcast of the input with the given shape.
#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"
#include "ir/size_limits.h"

namespace kiln::cpu::ops {

Status expand(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 2, 2));
  const ir::Tensor& x = *ctx.inputs[0];
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> shape, broadcast_shapes(x.shape(), ctx.inputs[1]->as_int64()));
  KILN_RETURN_IF_ERROR(ir::check_output_shape(shape));
  ctx.outputs.push_back(broadcast_to(x, shape));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
