#include "passes/shape_inference.h"

#include <cmath>

#include "ir/size_limits.h"
#include "passes/shape_rules.h"

namespace kiln::passes {
namespace {

using ir::Dim;
using ir::Shape;

constexpr int64_t kMaxTrackedElements = 64;

// Integer initializers, and float ones holding whole numbers (Range bounds), are the
// seeds of value tracking.
void seed_constant(const ir::Value& v, ShapeValues& values) {
  const ir::Tensor& t = *v.initializer;
  if (t.numel() > kMaxTrackedElements) return;
  std::vector<SymbolicInt> dims;
  if (t.dtype() == ir::DType::kInt64 || t.dtype() == ir::DType::kInt32) {
    for (int64_t x : t.as_int64()) dims.push_back(SymbolicInt::known(x));
  } else if (t.dtype() == ir::DType::kFloat32) {
    for (float x : t.values<float>()) {
      if (x != std::floor(x) || std::fabs(x) > 1e15f) return;
      dims.push_back(SymbolicInt::known(static_cast<int64_t>(x)));
    }
  } else {
    return;
  }
  values[&v] = std::move(dims);
}

// Combines the inferred shape with what the value already declared (the exporter's
// shapes, or an earlier inference): inferred dims win, declared ones fill the gaps.
Status merge_shape(const ir::Node& node, ir::Value& out, Shape inferred) {
  if (out.shape) {
    const Shape& prev = *out.shape;
    if (prev.size() != inferred.size())
      return error(StatusCode::kInvalidArgument, "node '", node.name, "' (", node.op_type, "): output '", out.name,
                   "' inferred as ", ir::shape_to_string(inferred), " but declared ", ir::shape_to_string(prev));
    for (size_t i = 0; i < prev.size(); ++i) {
      Dim& d = inferred[i];
      if (d.is_known() && prev[i].is_known() && d.value != prev[i].value)
        return error(StatusCode::kInvalidArgument, "node '", node.name, "' (", node.op_type, "): output '", out.name,
                     "' inferred as ", ir::shape_to_string(inferred), " but declared ", ir::shape_to_string(prev));
      if (!d.is_known() && d.symbol.empty()) d = prev[i];
    }
  }
  out.shape = std::move(inferred);
  return Status::Ok();
}

// Every known dim in [0, kMaxDim] and at most kMaxElements elements (counting symbolic and
// unknown dims, value -1, as 1; any other negative value is refused), so no later size computation overflows.
Status check_size(const ir::Value& v, const ir::Node* node) {
  if (!v.shape) return Status::Ok();
  std::vector<int64_t> dims;
  for (const Dim& d : *v.shape) dims.push_back(d.is_known() ? d.value : d.value == -1 ? 1 : -1);
  if (ir::checked_numel(dims)) return Status::Ok();
  std::string where = node ? "node '" + node->name + "' (" + node->op_type + "): output '" : "input '";
  return error(StatusCode::kInvalidArgument, where, v.name, "' has shape ", ir::shape_to_string(*v.shape),
               ", beyond kiln's limits (each dim <= ", ir::kMaxDim, ", at most ", ir::kMaxElements, " elements)");
}

}  // namespace

void bind_dims(ir::Graph& graph, const DimBindings& bindings) {
  if (bindings.empty()) return;
  for (const auto& v : graph.values()) {
    if (!v->shape) continue;
    for (Dim& d : *v->shape) {
      if (d.is_known() || d.symbol.empty()) continue;
      auto it = bindings.find(d.symbol);
      if (it != bindings.end()) d = Dim::known(it->second);
    }
  }
}

Result<ShapeValues> infer_shapes(ir::Graph& graph, const DimBindings& bindings) {
  bind_dims(graph, bindings);
  if (!graph.topological_sort()) return error(StatusCode::kInvalidArgument, "graph has a cycle");
  ShapeValues values;
  for (const ir::Value* in : graph.inputs) KILN_RETURN_IF_ERROR(check_size(*in, nullptr));
  for (const auto& v : graph.values())
    if (v->initializer) seed_constant(*v, values);

  for (const auto& node : graph.nodes()) {
    shape_rules::Rule rule = shape_rules::find_rule(node->op_type);
    if (!rule)
      return error(StatusCode::kUnsupported, "node '", node->name, "': no shape rule for op ", node->op_type);
    shape_rules::RuleContext ctx{*node, values, {}};
    shape_rules::OutputInfo preset;
    if (const ir::Value* in = node->input(0)) preset.dtype = in->dtype;
    ctx.outputs.assign(node->outputs.size(), preset);
    KILN_RETURN_IF_ERROR(rule(ctx));
    for (size_t i = 0; i < node->outputs.size(); ++i) {
      ir::Value* out = node->outputs[i];
      if (!out) continue;
      shape_rules::OutputInfo& info = ctx.outputs[i];
      out->dtype = info.dtype;
      if (info.shape) KILN_RETURN_IF_ERROR(merge_shape(*node, *out, std::move(*info.shape)));
      KILN_RETURN_IF_ERROR(check_size(*out, node.get()));
      values.erase(out);
      if (info.value && out->shape && ir::is_static(*out->shape) &&
          static_cast<int64_t>(info.value->size()) == ir::shape_numel(ir::static_dims(*out->shape)) &&
          static_cast<int64_t>(info.value->size()) <= kMaxTrackedElements)
        values[out] = std::move(*info.value);
    }
  }
  return values;
}

}  // namespace kiln::passes
