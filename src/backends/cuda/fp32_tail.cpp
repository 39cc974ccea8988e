#include "backends/cuda/fp32_tail.h"

#include <string_view>

#include "ir/qconv_int8.h"

namespace kiln::cuda {
namespace {

bool heavy(const ir::Node& node) {
  const std::string_view op = node.op_type;
  return op == "Conv" || op == "ConvTranspose" || op == "MatMul" || op == "Gemm" || op == ir::qconv::kOpType;
}

}  // namespace

std::set<const ir::Node*> fp32_tail(const ir::Graph& graph) {
  // Walk backwards through the topological order: a node feeds a heavy op if one of its
  // outputs' consumers is heavy or feeds one.
  std::set<const ir::Node*> feeds_heavy, tail;
  const auto& nodes = graph.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    const ir::Node& node = **it;
    bool feeds = false;
    for (const ir::Value* out : node.outputs)
      for (const ir::Node* user : graph.consumers(out)) feeds = feeds || heavy(*user) || feeds_heavy.count(user);
    if (feeds) feeds_heavy.insert(&node);
    else if (!heavy(node)) tail.insert(&node);
  }
  return tail;
}

}  // namespace kiln::cuda
