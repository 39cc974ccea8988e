#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status identity(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 1));
  ctx.outputs.push_back(*ctx.inputs[0]);
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
