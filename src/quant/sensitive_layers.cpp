#include "quant/sensitive_layers.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace kiln::quant {
namespace {

// Layers: the ops that bound a conv's neighbourhood (everything else is glue: activations,
// Concat, Split, Reshape, Softmax, Q/DQ, ...).
bool is_layer(const ir::Node& node) {
  static const std::set<std::string> kLayers = {"Conv", "ConvTranspose", "MatMul", "Gemm"};
  return kLayers.count(node.op_type) != 0;
}

// The glue between a conv and the layers around it, walking producers from its data input
// (backward) and consumers from its outputs (forward), stopping at layers and recording them.
struct Neighbourhood {
  std::vector<const ir::Value*> glue_values;  // values produced by glue ops, and the conv's input
  std::vector<const ir::Node*> glue_ops;
  std::vector<const ir::Node*> layers;
  bool reaches_graph_input = false;
};

Neighbourhood walk_backward(const ir::Graph& graph, const ir::Value* start) {
  Neighbourhood n;
  std::unordered_set<const ir::Value*> seen;
  std::vector<const ir::Value*> todo = {start};
  while (!todo.empty()) {
    const ir::Value* v = todo.back();
    todo.pop_back();
    if (!v || v->is_constant() || !seen.insert(v).second) continue;
    n.glue_values.push_back(v);
    const ir::Node* p = v->producer;
    if (!p) {
      n.reaches_graph_input |= std::find(graph.inputs.begin(), graph.inputs.end(), v) != graph.inputs.end();
      continue;
    }
    if (is_layer(*p)) {
      n.layers.push_back(p);
      continue;
    }
    n.glue_ops.push_back(p);
    for (const ir::Value* in : p->inputs) todo.push_back(in);
  }
  return n;
}

std::vector<const ir::Node*> layers_forward(const ir::Graph& graph, const ir::Node& conv) {
  std::vector<const ir::Node*> layers;
  std::unordered_set<const ir::Value*> seen;
  std::vector<const ir::Value*> todo(conv.outputs.begin(), conv.outputs.end());
  while (!todo.empty()) {
    const ir::Value* v = todo.back();
    todo.pop_back();
    if (!v || !seen.insert(v).second) continue;
    for (const ir::Node* c : graph.consumers(v)) {
      if (is_layer(*c)) {
        layers.push_back(c);
        continue;
      }
      for (const ir::Value* out : c->outputs) todo.push_back(out);
    }
  }
  return layers;
}

// Values from which a graph output is reachable through glue ops (and `see_through` layers).
std::unordered_set<const ir::Value*> values_reaching_outputs(const ir::Graph& graph,
                                                             const std::unordered_set<const ir::Node*>& see_through) {
  std::unordered_set<const ir::Value*> reach(graph.outputs.begin(), graph.outputs.end());
  const auto& nodes = graph.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    const ir::Node& node = **it;
    if (is_layer(node) && see_through.count(&node) == 0) continue;
    bool feeds = false;
    for (const ir::Value* out : node.outputs) feeds |= out && reach.count(out) != 0;
    if (!feeds) continue;
    for (const ir::Value* in : node.inputs)
      if (in) reach.insert(in);
  }
  return reach;
}

bool reaches(const ir::Node& node, const std::unordered_set<const ir::Value*>& values) {
  for (const ir::Value* out : node.outputs)
    if (out && values.count(out) != 0) return true;
  return false;
}

bool reads_softmax(const Neighbourhood& back) {
  for (const ir::Node* op : back.glue_ops)
    if (op->op_type == "Softmax") return true;
  return false;
}

// DFL: a conv between a Softmax and the outputs. The box-distribution convs before it (cv2.*.2)
// are head outputs too, as the graph output is reached through DFL's fixed weights.
std::unordered_set<const ir::Node*> dfl_convs(const ir::Graph& graph) {
  const std::unordered_set<const ir::Value*> reach = values_reaching_outputs(graph, {});
  std::unordered_set<const ir::Node*> dfl;
  for (const auto& node : graph.nodes())
    if (is_quantizable(*node) && reaches(*node, reach) && reads_softmax(walk_backward(graph, node->input(0))))
      dfl.insert(node.get());
  return dfl;
}

bool any_matmul(const std::vector<const ir::Node*>& nodes) {
  for (const ir::Node* n : nodes)
    if (n->op_type == "MatMul") return true;
  return false;
}

// C2PSA's pe conv reads the attention's V, which a MatMul reads too.
bool shares_input_with_matmul(const ir::Graph& graph, const Neighbourhood& back) {
  for (const ir::Value* v : back.glue_values)
    for (const ir::Node* c : graph.consumers(v))
      if (c->op_type == "MatMul") return true;
  return false;
}

std::string sensitivity(const ir::Graph& graph, const ir::Node& conv, const std::unordered_set<const ir::Node*>& dfl,
                        const std::unordered_set<const ir::Value*>& reaching_outputs) {
  const Neighbourhood back = walk_backward(graph, conv.input(0));
  if (back.reaches_graph_input) return "sensitive: first conv";
  if (dfl.count(&conv) != 0) return "sensitive: DFL";
  if (reaches(conv, reaching_outputs)) return "sensitive: detection head output";
  if (any_matmul(back.layers) || any_matmul(layers_forward(graph, conv)) || shares_input_with_matmul(graph, back))
    return "sensitive: attention";
  return {};
}

}  // namespace

bool is_quantizable(const ir::Node& node) { return node.op_type == "Conv" && node.inputs.size() >= 2; }

std::map<const ir::Node*, std::string> sensitive_layers(const ir::Graph& graph) {
  const std::unordered_set<const ir::Node*> dfl = dfl_convs(graph);
  const std::unordered_set<const ir::Value*> reaching_outputs = values_reaching_outputs(graph, dfl);
  std::map<const ir::Node*, std::string> result;
  for (const auto& node : graph.nodes()) {
    if (!is_quantizable(*node)) continue;
    std::string reason = sensitivity(graph, *node, dfl, reaching_outputs);
    if (!reason.empty()) result.emplace(node.get(), std::move(reason));
  }
  return result;
}

}  // namespace kiln::quant
