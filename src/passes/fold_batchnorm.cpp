#include "passes/fold_batchnorm.h"

#include <cmath>
#include <unordered_set>

namespace kiln::passes {
namespace {

bool float_constant(const ir::Value* v) {
  return v && v->initializer && v->initializer->dtype() == ir::DType::kFloat32;
}

// The Conv whose output `bn` can absorb, or null.
ir::Node* foldable_conv(const ir::Graph& graph, const ir::Node& bn) {
  ir::Value* x = bn.input(0);
  if (!x || !x->producer || x->producer->op_type != "Conv" || graph.is_graph_output(x)) return nullptr;
  if (graph.consumers(x).size() != 1) return nullptr;
  for (size_t i = 1; i <= 4; ++i)
    if (!float_constant(bn.input(i))) return nullptr;
  if (bn.outputs.size() != 1) return nullptr;  // training-mode outputs: leave alone
  ir::Node* conv = x->producer;
  if (!float_constant(conv->input(1)) || (conv->input(2) && !float_constant(conv->input(2)))) return nullptr;
  return conv;
}

}  // namespace

Result<int> fold_batchnorm(ir::Graph& graph) {
  std::unordered_set<const ir::Node*> folded;
  for (const auto& node : graph.nodes()) {
    if (node->op_type != "BatchNormalization") continue;
    ir::Node* conv = foldable_conv(graph, *node);
    if (!conv) continue;
    const ir::Tensor& w = *conv->input(1)->initializer;
    int64_t cout = w.dim(0);
    const ir::Tensor* gamma = &*node->input(1)->initializer;
    const ir::Tensor* beta = &*node->input(2)->initializer;
    const ir::Tensor* mean = &*node->input(3)->initializer;
    const ir::Tensor* var = &*node->input(4)->initializer;
    for (const ir::Tensor* t : {gamma, beta, mean, var})
      if (t->numel() != cout)
        return error(StatusCode::kInvalidArgument, "node '", node->name, "' (BatchNormalization): ", t->numel(),
                     " channels, conv '", conv->name, "' has ", cout);
    double eps = node->attr_float("epsilon", 1e-5f);
    ir::Tensor new_w = w;
    ir::Tensor new_b(ir::DType::kFloat32, {cout});
    int64_t per_channel = w.numel() / cout;
    for (int64_t o = 0; o < cout; ++o) {
      double scale = gamma->data<float>()[o] / std::sqrt(static_cast<double>(var->data<float>()[o]) + eps);
      float* wo = new_w.data<float>() + o * per_channel;
      for (int64_t k = 0; k < per_channel; ++k) wo[k] = static_cast<float>(wo[k] * scale);
      double b = conv->input(2) ? conv->input(2)->initializer->data<float>()[o] : 0.0;
      new_b.data<float>()[o] = static_cast<float>((b - mean->data<float>()[o]) * scale + beta->data<float>()[o]);
    }
    // New constants: the originals may be shared with other nodes.
    ir::Value* wv = graph.add_constant(conv->input(1)->name + "_bn", std::move(new_w));
    ir::Value* bv = graph.add_constant(conv->name + "_bias_bn", std::move(new_b));
    conv->inputs.resize(3);
    conv->inputs[1] = wv;
    conv->inputs[2] = bv;
    ir::Value* out = node->outputs[0];
    conv->outputs[0] = out;
    out->producer = conv;
    folded.insert(node.get());
  }
  graph.remove_nodes([&](const ir::Node& n) { return folded.count(&n) != 0; });
  graph.remove_unused_values();
  return static_cast<int>(folded.size());
}

}  // namespace kiln::passes
