#include "passes/graph_summary.h"

#include <iomanip>
#include <set>
#include <sstream>

namespace kiln::passes {
namespace {

std::optional<int64_t> numel(const ir::Value* v) {
  if (!v || !v->shape || !ir::is_static(*v->shape)) return std::nullopt;
  return ir::shape_numel(ir::static_dims(*v->shape));
}

// Product of a weight's dims after the first (Cin/groups * kh * kw for a conv weight).
std::optional<int64_t> per_output_macs(const ir::Value* w) {
  if (!w || !w->shape || !ir::is_static(*w->shape) || w->shape->empty()) return std::nullopt;
  std::vector<int64_t> d = ir::static_dims(*w->shape);
  return ir::shape_numel(std::vector<int64_t>(d.begin() + 1, d.end()));
}

const std::set<std::string>& elementwise_ops() {
  static const std::set<std::string> ops = {"Add", "Sub", "Mul", "Div", "Relu", "Sigmoid", "SiLU", "Cos", "Sin",
                                            "Softmax", "BatchNormalization", "Resize", "ReduceMean",
                                            "DequantizeLinear", "QuantizeLinear", "DynamicQuantizeLinear"};
  return ops;
}

// FLOPs of one node; nullopt when shapes needed for it are unknown.
std::optional<double> node_flops(const ir::Node& n) {
  const std::string& op = n.op_type;
  const ir::Value* out = n.outputs.empty() ? nullptr : n.outputs[0];
  if (op == "Conv" || op == "ConvInteger") {
    auto o = numel(out);
    auto k = per_output_macs(n.input(1));
    if (!o || !k) return std::nullopt;
    return 2.0 * static_cast<double>(*o) * static_cast<double>(*k);
  }
  if (op == "ConvTranspose") {  // each input element scatters into Cout/groups * kh * kw outputs
    auto i = numel(n.input(0));
    auto k = per_output_macs(n.input(1));
    if (!i || !k) return std::nullopt;
    return 2.0 * static_cast<double>(*i) * static_cast<double>(*k);
  }
  if (op == "MatMul" || op == "Gemm") {
    auto o = numel(out);
    const ir::Value* a = n.input(0);
    if (!o || !a || !a->shape || a->shape->empty()) return std::nullopt;
    bool trans_a = op == "Gemm" && n.attr_int("transA", 0) != 0;
    const ir::Dim& k = trans_a ? a->shape->front() : a->shape->back();
    if (!k.is_known()) return std::nullopt;
    return 2.0 * static_cast<double>(*o) * static_cast<double>(k.value);
  }
  if (op == "MaxPool" || op == "AveragePool") {
    auto o = numel(out);
    if (!o) return std::nullopt;
    return static_cast<double>(*o) * static_cast<double>(ir::shape_numel(n.attr_ints("kernel_shape")));
  }
  if (op == "GlobalAveragePool") {
    auto i = numel(n.input(0));
    if (!i) return std::nullopt;
    return static_cast<double>(*i);
  }
  if (elementwise_ops().count(op)) {
    auto o = numel(out);
    if (!o) return std::nullopt;
    return static_cast<double>(*o);
  }
  return 0.0;  // data movement (reshape, concat, slice, ...)
}

bool is_weight_slot(const ir::Node& n, size_t input) {
  static const std::set<std::string> weighted = {"Conv", "ConvTranspose", "ConvInteger", "Gemm", "MatMul",
                                                 "BatchNormalization"};
  if (weighted.count(n.op_type)) return input >= 1;
  return n.op_type == "DequantizeLinear" && input == 0;
}

std::string shape_text(const std::optional<ir::Shape>& s) { return s ? ir::shape_to_string(*s) : "?"; }

}  // namespace

GraphSummary summarize(const ir::Graph& graph) {
  GraphSummary s;
  for (const ir::Value* v : graph.inputs) s.inputs.push_back({v->name, v->dtype, v->shape});
  for (const ir::Value* v : graph.outputs) s.outputs.push_back({v->name, v->dtype, v->shape});
  s.metadata = graph.metadata;
  s.node_count = static_cast<int64_t>(graph.nodes().size());
  std::set<const ir::Value*> weights;
  for (const auto& n : graph.nodes()) {
    ++s.op_histogram[n->op_type];
    for (size_t i = 0; i < n->inputs.size(); ++i)
      if (n->input(i) && n->input(i)->is_constant() && is_weight_slot(*n, i)) weights.insert(n->input(i));
    if (auto f = node_flops(*n)) s.flops += *f;
    else ++s.nodes_without_shapes;
  }
  for (const ir::Value* w : weights) {  // each shared weight counted once
    ir::DType t = w->initializer->dtype();
    if (t == ir::DType::kFloat32 || t == ir::DType::kFloat16) s.parameter_count += w->initializer->numel();
    else if (t == ir::DType::kInt8 || t == ir::DType::kUInt8) s.quantized_parameter_count += w->initializer->numel();
  }
  return s;
}

std::string GraphSummary::to_text() const {
  std::ostringstream os;
  auto tensors = [&](const char* title, const std::vector<TensorSummary>& list) {
    os << title << ":\n";
    for (const auto& t : list)
      os << "  " << t.name << "  " << ir::dtype_name(t.dtype) << " " << shape_text(t.shape) << "\n";
  };
  tensors("inputs", inputs);
  tensors("outputs", outputs);
  os << "nodes: " << node_count << "\n";
  os << "ops:\n";
  for (const auto& [op, count] : op_histogram) os << "  " << std::left << std::setw(24) << op << count << "\n";
  os << "parameters: " << parameter_count;
  if (quantized_parameter_count) os << " float + " << quantized_parameter_count << " int8";
  os << "\n";
  os << "FLOPs: " << std::fixed << std::setprecision(2) << gflops() << " G";
  if (nodes_without_shapes) os << " (" << nodes_without_shapes << " nodes with unknown shapes not counted)";
  os << "\n";
  if (!metadata.empty()) os << "metadata:\n";
  for (const auto& [key, value] : metadata)  // class-name lists can be long: one line each
    os << "  " << key << ": " << (value.size() > 100 ? value.substr(0, 97) + "..." : value) << "\n";
  return os.str();
}

}  // namespace kiln::passes
