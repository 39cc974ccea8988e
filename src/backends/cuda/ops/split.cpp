// Split: on the channel axis of an NHWC input, an output all of whose consumers read
// through strides (concat_views.h) is a channel view of the input, no copy; any other
// output is a copy of its range of the input along the axis (keeps the layout), all those
// in one launch.
#include "backends/cuda/concat_views.h"
#include "backends/cuda/ops/shape_util.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {

Status plan_split(PlanBuilder& b, const ir::Node& node) {
  KILN_ASSIGN_OR_RETURN(int in, b.input_keep_views(node, 0));
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
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
  if (total != src.dims[axis])
    return error(StatusCode::kInvalidArgument, "split sizes sum to ", total, ", axis has ", src.dims[axis]);
  const std::vector<int64_t> in_strides = src.logical_strides();
  const Layout layout = src.layout;
  const size_t es = ir::dtype_size(src.dtype);
  const bool channel_split = layout == Layout::kNHWC && axis == 1;
  int64_t at = 0;
  std::vector<CopySpec> copies;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::vector<int64_t> dims = src.dims;
    dims[axis] = sizes[i];
    const ir::Value* v = node.outputs[i];
    // A view's address must stay 16-byte aligned (cuDNN's tensor-core engines).
    if (v && channel_split && at * es % 16 == 0 && consumers_read_channel_views(b.graph(), v, b.options())) {
      b.define_channel_view(v, in, at, sizes[i]);
      ++b.stats().channel_views;
    } else if (v) {
      const int out = b.define(v, dims, layout);
      copies.push_back({in, out, dims, in_strides, at * in_strides[axis], b.slot(out).logical_strides(), 0});
    }
    at += sizes[i];
  }
  // Outputs take the input's dtype (input_keep_views gives the activation dtype): one launch.
  if (!copies.empty()) b.add_step(make_copy_group_step(node.name, std::move(copies), src.dtype));
  return Status::Ok();
}

}  // namespace kiln::cuda
