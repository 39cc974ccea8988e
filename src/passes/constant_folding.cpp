#include "passes/constant_folding.h"

#include <algorithm>
#include <unordered_set>

#include "backends/cpu/kernel.h"

namespace kiln::passes {
namespace {

// Quantize/dequantize pairs stay: they tell an INT8 backend which weights are quantized
// (folding them would also store int8 weights as float, 4x larger).
bool keep_unfolded(const ir::Node& node) {
  return node.op_type == "DequantizeLinear" || node.op_type == "QuantizeLinear" ||
         node.op_type == "DynamicQuantizeLinear";
}

// A tensor of `dtype` holding tracked values, if every element is known.
std::optional<ir::Tensor> tensor_from_values(const ir::Value& v, const std::vector<SymbolicInt>& values) {
  if (!v.shape || !ir::is_static(*v.shape)) return std::nullopt;
  std::vector<int64_t> ints;
  for (const SymbolicInt& s : values) {
    if (!s.is_known()) return std::nullopt;
    ints.push_back(*s.value);
  }
  std::vector<int64_t> shape = ir::static_dims(*v.shape);
  switch (v.dtype) {
    case ir::DType::kInt64: return ir::Tensor::from_vector<int64_t>(shape, ints);
    case ir::DType::kInt32: return ir::Tensor::from_vector<int32_t>(shape, std::vector<int32_t>(ints.begin(), ints.end()));
    case ir::DType::kFloat32: return ir::Tensor::from_vector<float>(shape, std::vector<float>(ints.begin(), ints.end()));
    default: return std::nullopt;
  }
}

// Outputs from tracked values (shape computations), or nullopt.
std::optional<std::vector<ir::Tensor>> fold_from_values(const ir::Node& node, const ShapeValues& known) {
  std::vector<ir::Tensor> outs;
  for (const ir::Value* out : node.outputs) {
    auto it = out ? known.find(out) : known.end();
    if (it == known.end()) return std::nullopt;
    auto t = tensor_from_values(*out, it->second);
    if (!t) return std::nullopt;
    outs.push_back(std::move(*t));
  }
  return outs;
}

// Shape of a value whose shape is static (its data may still be computed at run time).
std::optional<std::vector<ir::Tensor>> fold_static_shape(const ir::Node& node) {
  const ir::Value* in = node.input(0);
  if (node.op_type != "Shape" || !in || !in->shape || !ir::is_static(*in->shape)) return std::nullopt;
  std::vector<int64_t> dims = ir::static_dims(*in->shape);
  int64_t rank = static_cast<int64_t>(dims.size());
  int64_t start = node.attr_int("start", 0), end = node.attr_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  std::vector<int64_t> picked(dims.begin() + start, dims.begin() + end);
  std::vector<ir::Tensor> outs;
  outs.push_back(ir::Tensor::from_vector<int64_t>({static_cast<int64_t>(picked.size())}, picked));
  return outs;
}

bool too_large(const ir::Node& node) {
  for (const ir::Value* out : node.outputs)
    if (out && out->shape && ir::is_static(*out->shape) &&
        ir::shape_numel(ir::static_dims(*out->shape)) > kMaxFoldedElements)
      return true;
  return false;
}

// Outputs computed by the CPU kernel from constant inputs, or nullopt when the node has
// a non-constant input or no kernel.
Result<std::optional<std::vector<ir::Tensor>>> fold_with_kernel(const ir::Node& node) {
  bool any_input = false;
  std::vector<const ir::Tensor*> inputs;
  for (const ir::Value* in : node.inputs) {
    if (in && !in->is_constant()) return std::optional<std::vector<ir::Tensor>>{};
    any_input |= in != nullptr;
    inputs.push_back(in ? &*in->initializer : nullptr);
  }
  cpu::Kernel kernel = cpu::find_kernel(node.op_type);
  if (!any_input || !kernel || too_large(node)) return std::optional<std::vector<ir::Tensor>>{};
  cpu::KernelContext ctx{node, std::move(inputs), {}};
  Status st = kernel(ctx);
  if (!st.ok())
    return error(st.code(), "constant folding node '", node.name, "' (", node.op_type, "): ", st.message());
  if (ctx.outputs.size() < node.outputs.size())
    return error(StatusCode::kInternal, "constant folding node '", node.name, "': kernel set too few outputs");
  for (const ir::Tensor& t : ctx.outputs)
    if (t.numel() > kMaxFoldedElements) return std::optional<std::vector<ir::Tensor>>{};
  return std::optional<std::vector<ir::Tensor>>{std::move(ctx.outputs)};
}

}  // namespace

Result<int> fold_constants(ir::Graph& graph, const ShapeValues* known) {
  std::unordered_set<const ir::Node*> folded;
  for (const auto& node : graph.nodes()) {
    if (keep_unfolded(*node)) continue;
    std::optional<std::vector<ir::Tensor>> outs = fold_static_shape(*node);
    if (!outs && known) outs = fold_from_values(*node, *known);
    if (!outs) {
      KILN_ASSIGN_OR_RETURN(outs, fold_with_kernel(*node));
    }
    if (!outs) continue;
    // The output Values keep their names and uses; they just become constants.
    for (size_t i = 0; i < node->outputs.size(); ++i) {
      ir::Value* out = node->outputs[i];
      if (!out) continue;
      out->dtype = (*outs)[i].dtype();
      out->shape = ir::make_shape((*outs)[i].shape());
      out->initializer = std::move((*outs)[i]);
      out->producer = nullptr;
    }
    folded.insert(node.get());
  }
  graph.remove_nodes([&](const ir::Node& n) { return folded.count(&n) != 0; });
  return static_cast<int>(folded.size());
}

}  // namespace kiln::passes
