#include "passes/fuse_silu.h"

#include <unordered_set>

namespace kiln::passes {
namespace {

// If `s` is Sigmoid(x) used only by `mul`, returns x.
ir::Value* sigmoid_input(const ir::Graph& graph, const ir::Node& mul, ir::Value* s, ir::Value* other) {
  if (!s || !s->producer || s->producer->op_type != "Sigmoid") return nullptr;
  ir::Value* x = s->producer->input(0);
  if (x != other || graph.is_graph_output(s)) return nullptr;
  auto users = graph.consumers(s);
  return users.size() == 1 && users[0] == &mul ? x : nullptr;
}

}  // namespace

int fuse_silu(ir::Graph& graph) {
  std::unordered_set<const ir::Node*> fused_sigmoids;
  for (const auto& node : graph.nodes()) {
    if (node->op_type != "Mul" || node->inputs.size() != 2) continue;
    ir::Value* a = node->inputs[0];
    ir::Value* b = node->inputs[1];
    ir::Value* x = sigmoid_input(graph, *node, b, a);
    ir::Value* s = b;
    if (!x) {
      x = sigmoid_input(graph, *node, a, b);
      s = a;
    }
    if (!x) continue;
    fused_sigmoids.insert(s->producer);
    node->op_type = "SiLU";
    node->inputs = {x};
    node->attrs.clear();
  }
  graph.remove_nodes([&](const ir::Node& n) { return fused_sigmoids.count(&n) != 0; });
  graph.remove_unused_values();
  return static_cast<int>(fused_sigmoids.size());
}

}  // namespace kiln::passes
