#include "onnx/model_validation.h"

#include <unordered_set>

namespace kiln::onnx {

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

namespace {

Status corrupt(const std::string& file, const std::string& problem) {
  return error(StatusCode::kCorrupt, file, ": not a valid ONNX model (", problem, ")");
}

std::string node_label(const ::onnx::NodeProto& node, int index) {
  return "node " + std::to_string(index) + " '" + node.name() + "' (" + node.op_type() + ")";
}

}  // namespace

Status validate_model(const ::onnx::ModelProto& model, const std::string& file) {
  if (model.ir_version() <= 0) return corrupt(file, "missing ir_version");
  bool has_default_opset = false;
  for (const auto& op : model.opset_import())
    if (is_default_domain(op.domain()) && op.version() > 0) has_default_opset = true;
  if (!has_default_opset) return corrupt(file, "no opset_import for the default ONNX domain");
  if (!model.has_graph()) return corrupt(file, "no graph");
  const ::onnx::GraphProto& graph = model.graph();
  if (graph.node_size() == 0) return corrupt(file, "graph has no nodes");
  if (graph.output_size() == 0) return corrupt(file, "graph has no outputs");

  std::unordered_set<std::string> defined;
  for (const auto& init : graph.initializer()) {
    if (init.name().empty()) return corrupt(file, "an initializer has no name");
    if (!defined.insert(init.name()).second) return corrupt(file, "initializer '" + init.name() + "' is defined twice");
  }
  // Older exporters list initializers among the graph inputs too: that repeat is allowed.
  std::unordered_set<std::string> input_names;
  for (const auto& in : graph.input()) {
    if (in.name().empty()) return corrupt(file, "a graph input has no name");
    if (!input_names.insert(in.name()).second) return corrupt(file, "graph input '" + in.name() + "' is listed twice");
    defined.insert(in.name());
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    if (node.op_type().empty()) return corrupt(file, "node " + std::to_string(i) + " '" + node.name() + "' has no op type");
    for (const std::string& in : node.input())
      if (!in.empty() && !defined.count(in))
        return corrupt(file, node_label(node, i) + " uses '" + in +
                                 "', which no graph input, initializer or earlier node defines");
    for (const std::string& out : node.output())
      if (!out.empty() && !defined.insert(out).second)
        return corrupt(file, node_label(node, i) + " redefines value '" + out + "'");
  }
  for (const auto& out : graph.output()) {
    if (out.name().empty()) return corrupt(file, "a graph output has no name");
    if (!defined.count(out.name())) return corrupt(file, "graph output '" + out.name() + "' is not produced by any node");
  }
  return Status::Ok();
}

}  // namespace kiln::onnx
