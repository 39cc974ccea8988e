#include "passes/dead_code_elimination.h"

#include <unordered_set>

namespace kiln::passes {
namespace {

// Points the uses of each Identity's output at its input. A graph output keeps its name:
// its Identity is bypassed by renaming the producer's output only when that is safe.
void bypass_identities(ir::Graph& graph) {
  std::unordered_set<const ir::Node*> bypassed;
  for (const auto& node : graph.nodes()) {
    if (node->op_type != "Identity" || node->inputs.empty() || !node->input(0) || node->outputs.size() != 1) continue;
    ir::Value* in = node->inputs[0];
    ir::Value* out = node->outputs[0];
    if (!graph.is_graph_output(out)) {
      graph.replace_all_uses(out, in);
    } else {
      ir::Node* producer = in->producer;
      bool private_input = producer && !graph.is_graph_output(in) && graph.consumers(in).size() == 1;
      if (!private_input) continue;
      for (ir::Value*& o : producer->outputs)
        if (o == in) o = out;
      out->producer = producer;
    }
    bypassed.insert(node.get());
  }
  graph.remove_nodes([&](const ir::Node& n) { return bypassed.count(&n) != 0; });
}

}  // namespace

int eliminate_dead_code(ir::Graph& graph) {
  size_t before = graph.nodes().size();
  bypass_identities(graph);
  std::unordered_set<const ir::Value*> live(graph.outputs.begin(), graph.outputs.end());
  std::unordered_set<const ir::Node*> live_nodes;
  const auto& nodes = graph.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    const ir::Node& n = **it;
    bool used = false;
    for (const ir::Value* o : n.outputs) used |= o && live.count(o);
    if (!used) continue;
    live_nodes.insert(&n);
    live.insert(n.inputs.begin(), n.inputs.end());
  }
  graph.remove_nodes([&](const ir::Node& n) { return live_nodes.count(&n) == 0; });
  graph.remove_unused_values();
  return static_cast<int>(before - graph.nodes().size());
}

}  // namespace kiln::passes
