// Shape: the input's dims as int64, optionally sliced by start/end (opset 15).
#include <algorithm>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status shape(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 1));
  const std::vector<int64_t>& dims = ctx.inputs[0]->shape();
  const int64_t rank = static_cast<int64_t>(dims.size());
  auto clamp_index = [rank](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + rank : i, 0, rank); };
  const int64_t start = clamp_index(ctx.node.attr_int("start", 0));
  const int64_t end = clamp_index(ctx.node.attr_int("end", rank));
  std::vector<int64_t> out(dims.begin() + start, dims.begin() + std::max(start, end));
  ctx.outputs.push_back(ir::Tensor::from_vector<int64_t>({static_cast<int64_t>(out.size())}, out));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
