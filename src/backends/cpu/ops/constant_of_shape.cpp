// ConstantOfShape: a tensor of the given shape filled with `value` (default float32 0).
#include <cstring>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"
#include "ir/size_limits.h"

namespace kiln::cpu::ops {

Status constant_of_shape(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 1));
  const std::vector<int64_t> shape = ctx.inputs[0]->as_int64();
  KILN_RETURN_IF_ERROR(ir::check_output_shape(shape));
  const ir::Tensor* value = ctx.node.attr_tensor("value");
  if (value && value->numel() != 1) return error(StatusCode::kInvalidArgument, "value must hold one element");
  ir::Tensor out(value ? value->dtype() : ir::DType::kFloat32, shape);
  if (value) {
    const size_t es = ir::dtype_size(out.dtype());
    for (int64_t i = 0; i < out.numel(); ++i) std::memcpy(out.raw() + i * es, value->raw(), es);
  }
  ctx.outputs.push_back(std::move(out));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
