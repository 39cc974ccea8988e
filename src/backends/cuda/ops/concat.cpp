// Concat: each input is copied into its offset of the output, all in one launch (any
// layouts; the output is channel-last when any rank-4 input is). Operands whose producers
// already wrote them into the output buffer (concat_views.h) are skipped; when all are, the
// Concat has no step at all.
#include "backends/cuda/ops/shape_util.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {

Status plan_concat(PlanBuilder& b, const ir::Node& node) {
  std::vector<int> ins;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(int s, b.input_keep_views(node, i));
    ins.push_back(s);
  }
  if (ins.empty()) return error(StatusCode::kInvalidArgument, "no inputs");
  const int64_t rank = static_cast<int64_t>(b.slot(ins[0]).dims.size());
  const int64_t axis = normalize_axis(node.attr_int("axis", 0), rank);
  if (axis < 0) return error(StatusCode::kInvalidArgument, "axis out of range");
  std::vector<int64_t> dims = b.slot(ins[0]).dims;
  dims[axis] = 0;
  bool nhwc = false;
  for (int s : ins) {
    const Slot& sl = b.slot(s);
    if (static_cast<int64_t>(sl.dims.size()) != rank)
      return error(StatusCode::kInvalidArgument, "inputs differ in rank");
    dims[axis] += sl.dims[axis];
    nhwc = nhwc || sl.layout == Layout::kNHWC;
  }
  const Layout layout = nhwc && rank == 4 ? Layout::kNHWC : Layout::kLinear;
  // The buffer exists already when an operand was written in place.
  auto made = b.slot_of_value(node.outputs[0]);
  const int out = made >= 0 ? made : b.define(node.outputs[0], dims, layout);
  const Slot& o = b.slot(out);
  if (o.dims != dims || o.layout != layout)
    return error(StatusCode::kInternal, "output buffer ", ir::shape_to_string(o.dims), " made for in-place operands does not fit");
  const std::vector<int64_t> out_strides = o.logical_strides();
  const size_t es = ir::dtype_size(o.dtype);
  // Every operand already has the output's dtype (input_keep_views converts it): one launch.
  std::vector<CopySpec> copies;
  int64_t at = 0;
  for (int s : ins) {
    const Slot& in = b.slot(s);
    const bool in_place = in.root == out && in.offset == static_cast<size_t>(at * out_strides[axis]) * es &&
                          in.logical_strides() == out_strides;
    if (!in_place) copies.push_back({s, out, in.dims, in.logical_strides(), 0, out_strides, at * out_strides[axis]});
    at += in.dims[axis];
  }
  if (!copies.empty()) b.add_step(make_copy_group_step(node.name, std::move(copies), o.dtype));
  return Status::Ok();
}

}  // namespace kiln::cuda
