// Transpose by `perm` (default: reverse the dims).
#include <algorithm>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status transpose(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 1));
  const ir::Tensor& x = *ctx.inputs[0];
  const size_t rank = x.rank();
  std::vector<int64_t> perm = ctx.node.attr_ints("perm");
  if (perm.empty())
    for (size_t d = 0; d < rank; ++d) perm.push_back(static_cast<int64_t>(rank - 1 - d));
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (size_t d = 0; d < sorted.size(); ++d)
    if (sorted.size() != rank || sorted[d] != static_cast<int64_t>(d))
      return error(StatusCode::kInvalidArgument, "perm is not a permutation of ", rank, " dims");
  const std::vector<int64_t> in_strides = strides_of(x.shape());
  std::vector<int64_t> out_shape(rank), strides(rank);
  for (size_t d = 0; d < rank; ++d) {
    out_shape[d] = x.shape()[perm[d]];
    strides[d] = in_strides[perm[d]];
  }
  ctx.outputs.push_back(gather_strided(x, out_shape, strides, 0));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
