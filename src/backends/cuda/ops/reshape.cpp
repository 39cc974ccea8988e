// Reshape, Flatten, Unsqueeze, Squeeze, Identity: a view of the input's storage (no copy)
// once the input is in linear layout; the output's shape comes from shape inference.
#include "backends/cuda/plan.h"

namespace kiln::cuda {

Status plan_reshape(PlanBuilder& b, const ir::Node& node) {
  KILN_ASSIGN_OR_RETURN(int in, b.input(node, 0, Layout::kLinear));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, b.dims_of(node, node.outputs[0]));
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  if (n != b.slot(in).numel())
    return error(StatusCode::kInvalidArgument, "output ", ir::shape_to_string(dims), " and input ",
                 ir::shape_to_string(b.slot(in).dims), " differ in size");
  b.define_view(node.outputs[0], in, 0, dims);
  return Status::Ok();
}

}  // namespace kiln::cuda
