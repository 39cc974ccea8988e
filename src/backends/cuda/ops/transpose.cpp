// Transpose: a strided copy reading the input through permuted strides.
#include "backends/cuda/plan.h"

namespace kiln::cuda {

Status plan_transpose(PlanBuilder& b, const ir::Node& node) {
  KILN_ASSIGN_OR_RETURN(int in, b.input_any_layout(node, 0));
  const Slot src = b.slot(in);
  const size_t rank = src.dims.size();
  std::vector<int64_t> perm = node.attr_ints("perm");
  if (perm.empty())
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  if (perm.size() != rank) return error(StatusCode::kInvalidArgument, "perm has ", perm.size(), " entries for rank ", rank);
  const std::vector<int64_t> st = src.logical_strides();
  std::vector<int64_t> dims(rank), src_strides(rank);
  for (size_t j = 0; j < rank; ++j) {
    if (perm[j] < 0 || perm[j] >= static_cast<int64_t>(rank)) return error(StatusCode::kInvalidArgument, "bad perm");
    dims[j] = src.dims[perm[j]];
    src_strides[j] = st[perm[j]];
  }
  const int out = b.define(node.outputs[0], dims, Layout::kLinear);
  b.add_step(make_copy_step(node.name, in, out, dims, src_strides, 0, b.slot(out).logical_strides(), 0, src.dtype,
                            b.slot(out).dtype));
  return Status::Ok();
}

}  // namespace kiln::cuda
