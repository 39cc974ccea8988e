#include "onnx/opset_normalization.h"

#include <string>
#include <vector>

namespace kiln::onnx {

namespace {

// Moves the INTS attribute `attr` (if present) into input slot `index` as an int64 constant,
// the form newer opsets take the same information in.
void ints_attr_to_input(ir::Graph& graph, ir::Node& node, const std::string& attr, size_t index) {
  if (!node.has_attr(attr)) return;
  std::vector<int64_t> values = node.attr_ints(attr);
  node.attrs.erase(attr);
  ir::Value* c = graph.add_constant(node.name + "/" + attr,
                                    ir::Tensor::from_vector<int64_t>({static_cast<int64_t>(values.size())}, values));
  if (node.inputs.size() <= index) node.inputs.resize(index + 1, nullptr);
  node.inputs[index] = c;
}

// Softmax before opset 13 flattened the input to 2-D at `axis` ([d0..d(axis-1)] x
// [d(axis)..d(r-1)]) and normalized over the whole second part. That equals the modern
// per-axis Softmax exactly when `axis` is the last axis, or every dim after it is 1.
Status normalize_legacy_softmax(ir::Node& node, const ImportContext& ctx) {
  int64_t axis = node.attr_int("axis", 1);  // the default was 1 before opset 13, -1 after
  const ir::Value* x = node.input(0);
  bool same_as_modern = axis == -1;
  if (!same_as_modern && x && x->shape) {
    const auto rank = static_cast<int64_t>(x->shape->size());
    if (axis < 0) axis += rank;
    same_as_modern = axis >= 0 && axis < rank;
    for (int64_t d = axis + 1; same_as_modern && d < rank; ++d)
      same_as_modern = (*x->shape)[static_cast<size_t>(d)] == ir::Dim::known(1);
  }
  if (!same_as_modern)
    return error(StatusCode::kUnsupported, ctx.file, ": Softmax node '", node.name, "' (opset ", ctx.opset,
                 ") normalizes over all axes from ", node.attr_int("axis", 1),
                 " on flattened (opset < 13 semantics); kiln supports it only when that is the last axis "
                 "or the dims after it are 1");
  node.attrs["axis"] = axis;
  return Status::Ok();
}

}  // namespace

Status normalize_to_latest_opset(ir::Graph& graph, ir::Node& node, const ImportContext& ctx) {
  const int64_t opset = ctx.opset;
  const std::string& op = node.op_type;
  if (op == "Split" && opset < 13) {
    // Split-2/11: sizes in the 'split' attribute; Split-13 takes them as input 1. Split-18's
    // 'num_outputs' attribute is already the latest form and stays as it is.
    ints_attr_to_input(graph, node, "split", 1);
  } else if ((op == "Unsqueeze" || op == "Squeeze") && opset < 13) {
    // Unsqueeze/Squeeze-1/11: 'axes' attribute; opset 13 takes axes as input 1.
    ints_attr_to_input(graph, node, "axes", 1);
  } else if (op == "ReduceMean" && opset < 18) {
    // ReduceMean-1..13: 'axes' attribute; opset 18 takes axes as input 1 (no axes in either
    // form, with noop_with_empty_axes unset, reduces over all axes).
    ints_attr_to_input(graph, node, "axes", 1);
  } else if (op == "Slice" && opset < 10) {
    // Slice-1: starts/ends/axes attributes; opset 10 takes them as inputs 1..3.
    ints_attr_to_input(graph, node, "starts", 1);
    ints_attr_to_input(graph, node, "ends", 2);
    ints_attr_to_input(graph, node, "axes", 3);
  } else if (op == "Resize" && opset == 10) {
    // Resize-10: (X, scales) with asymmetric coordinates; opset 11+: (X, roi, scales[, sizes]).
    // Opset 10 did not define nearest rounding; 'floor' matches ONNX Runtime for the
    // upsampling every YOLO export does.
    if (node.inputs.size() >= 2) node.inputs = {node.inputs[0], nullptr, node.inputs[1]};
    node.attrs["coordinate_transformation_mode"] = std::string("asymmetric");
    if (node.attr_string("mode", "nearest") == "nearest") node.attrs["nearest_mode"] = std::string("floor");
  } else if (op == "Softmax" && opset < 13) {
    return normalize_legacy_softmax(node, ctx);
  }
  return Status::Ok();
}

}  // namespace kiln::onnx
