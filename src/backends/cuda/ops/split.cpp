// Split: each output is a copy of its range of the input along the axis (keeps the layout),
// all in one launch.
#include "backends/cuda/ops/shape_util.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {

Status plan_split(PlanBuilder& b, const ir::Node& node) {
  KILN_ASSIGN_OR_RETURN(int in, b.input_any_layout(node, 0));
  const Slot src = b.slot(in);
  const int64_t rank = static_cast<int64_t>(src.dims.size());
  const int64_t axis = normalize_axis(node.attr_int("axis", 0), rank);
  if (axis < 0) return error(StatusCode::kInvalidArgument, "axis out of range");
  std::vector<int64_t> sizes;
  if (const ir::Tensor* t = b.constant_input(node, 1)) {
    sizes = t->as_int64();
  } else if (node.input(1)) {
    return error(StatusCode::kUnsupported, "split sizes must be constant");
  } else if (node.has_attr("split")) {
    sizes = node.attr_ints("split");
  } else {
    const int64_t parts = static_cast<int64_t>(node.outputs.size());
    const int64_t each = (src.dims[axis] + parts - 1) / parts;
    for (int64_t p = 0, left = src.dims[axis]; p < parts; ++p, left -= each) sizes.push_back(std::min(each, left));
  }
  if (sizes.size() != node.outputs.size())
    return error(StatusCode::kInvalidArgument, sizes.size(), " split sizes for ", node.outputs.size(), " outputs");
  const std::vector<int64_t> in_strides = src.logical_strides();
  const Layout layout = src.layout;
  int64_t at = 0;
  std::vector<CopySpec> copies;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::vector<int64_t> dims = src.dims;
    dims[axis] = sizes[i];
    if (node.outputs[i]) {
      const int out = b.define(node.outputs[i], dims, layout);
      copies.push_back({in, out, dims, in_strides, at * in_strides[axis], b.slot(out).logical_strides(), 0});
    }
    at += sizes[i];
  }
  if (at != src.dims[axis])
    return error(StatusCode::kInvalidArgument, "split sizes sum to ", at, ", axis has ", src.dims[axis]);
  // Outputs take the input's dtype (input_any_layout gives the activation dtype): one launch.
  if (!copies.empty()) b.add_step(make_copy_group_step(node.name, std::move(copies), src.dtype));
  return Status::Ok();
}

}  // namespace kiln::cuda
