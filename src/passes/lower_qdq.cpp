#include "passes/lower_qdq.h"

#include <algorithm>
#include <optional>
#include <unordered_set>

#include "backends/cpu/kernel.h"
#include "ir/qconv_int8.h"
#include "passes/dead_code_elimination.h"
#include "passes/shape_inference.h"

namespace kiln::passes {
namespace {

namespace qconv = ir::qconv;

const ir::Node* producer_of(const ir::Value* v, const char* op_type) {
  return v && v->producer && v->producer->op_type == op_type ? v->producer : nullptr;
}

bool is_constant(const ir::Value* v, ir::DType dtype) { return v && v->is_constant() && v->dtype == dtype; }

bool all_zero(const ir::Value* zero_point) {
  if (!zero_point) return true;
  if (!is_constant(zero_point, ir::DType::kInt8)) return false;
  for (int8_t z : zero_point->initializer->values<int8_t>())
    if (z != 0) return false;
  return true;
}

// Scale and zero point of a per-tensor int8 Q or DQ node (inputs: data, scale, zero point).
bool per_tensor_int8(const ir::Node& node) {
  const ir::Value* scale = node.input(1);
  const ir::Value* zero = node.input(2);
  return is_constant(scale, ir::DType::kFloat32) && scale->initializer->numel() == 1 &&
         (!zero || (is_constant(zero, ir::DType::kInt8) && zero->initializer->numel() == 1));
}

// DQ(w_q): a constant int8 kernel, symmetric, per tensor or per output channel (axis 0).
bool symmetric_weight(const ir::Node& dq) {
  const ir::Value* wq = dq.input(0);
  const ir::Value* scale = dq.input(1);
  if (!is_constant(wq, ir::DType::kInt8) || wq->initializer->rank() != 4 || !is_constant(scale, ir::DType::kFloat32))
    return false;
  const int64_t n = scale->initializer->numel();
  const bool per_channel = n == wq->initializer->dim(0) && dq.attr_int("axis", 1) == 0;
  return (n == 1 || per_channel) && all_zero(dq.input(2));
}

// The conv's bias as a float constant: as it is, or its DequantizeLinear evaluated; nullopt
// when it is neither (the conv is not lowered), nullptr when the conv has none.
Result<std::optional<ir::Value*>> float_bias(ir::Graph& graph, ir::Value* bias) {
  if (!bias || is_constant(bias, ir::DType::kFloat32)) return std::optional<ir::Value*>(bias);
  const ir::Node* dq = producer_of(bias, "DequantizeLinear");
  if (!dq) return std::optional<ir::Value*>();
  std::vector<const ir::Tensor*> inputs;
  for (const ir::Value* in : dq->inputs) {
    if (in && !in->is_constant()) return std::optional<ir::Value*>();
    inputs.push_back(in ? &*in->initializer : nullptr);
  }
  cpu::KernelContext ctx{*dq, std::move(inputs), {}};
  if (Status st = cpu::find_kernel("DequantizeLinear")(ctx); !st.ok())
    return error(st.code(), "lower_qdq: bias '", bias->name, "' of node '", dq->name, "': ", st.message());
  return std::optional<ir::Value*>(graph.add_constant(bias->name + "_float", std::move(ctx.outputs[0])));
}

// The only consumer of `v`, if it has exactly one and is not a graph output.
ir::Node* sole_consumer(const ir::Graph& graph, const ir::Value* v) {
  if (graph.is_graph_output(v)) return nullptr;
  std::vector<ir::Node*> users = graph.consumers(v);
  return users.size() == 1 ? users[0] : nullptr;
}

bool same_constant(const ir::Value* a, const ir::Value* b) {
  if (a == b) return true;
  if (!a || !b || !a->is_constant() || !b->is_constant()) return false;
  const ir::Tensor& ta = *a->initializer;
  const ir::Tensor& tb = *b->initializer;
  return ta.dtype() == tb.dtype() && ta.shape() == tb.shape() &&
         std::equal(ta.raw(), ta.raw() + ta.nbytes(), tb.raw());
}

// QuantizeLinear nodes reading `y`, when they are all its readers and agree on one int8
// scale and zero point; else empty (the output stays float).
std::vector<ir::Node*> requantizing_consumers(const ir::Graph& graph, const ir::Value* y) {
  if (graph.is_graph_output(y)) return {};
  std::vector<ir::Node*> users = graph.consumers(y);
  for (const ir::Node* q : users) {
    if (q->op_type != "QuantizeLinear" || !q->input(2) || !per_tensor_int8(*q) ||
        !same_constant(q->input(1), users[0]->input(1)) || !same_constant(q->input(2), users[0]->input(2)))
      return {};
  }
  return users;
}

struct Lowering {
  std::unordered_set<const ir::Node*> removed;
  int lowered = 0;
};

Status lower_conv(ir::Graph& graph, ir::Node& conv, Lowering& state) {
  const ir::Node* x_dq = producer_of(conv.input(0), "DequantizeLinear");
  const ir::Node* w_dq = producer_of(conv.input(1), "DequantizeLinear");
  if (!x_dq || !w_dq || x_dq->input(0)->dtype != ir::DType::kInt8 || !per_tensor_int8(*x_dq) ||
      !symmetric_weight(*w_dq) || conv.outputs.size() != 1)
    return Status::Ok();
  KILN_ASSIGN_OR_RETURN(std::optional<ir::Value*> bias, float_bias(graph, conv.input(2)));
  if (!bias) return Status::Ok();

  std::vector<ir::Value*> inputs(qconv::kInputCount, nullptr);
  inputs[qconv::kX] = x_dq->input(0);
  inputs[qconv::kXScale] = x_dq->input(1);
  inputs[qconv::kXZeroPoint] = x_dq->input(2) ? x_dq->input(2)
                                              : graph.add_constant(conv.name + "_x_zero_point", ir::Tensor::scalar<int8_t>(0));
  inputs[qconv::kW] = w_dq->input(0);
  inputs[qconv::kWScale] = w_dq->input(1);
  inputs[qconv::kBias] = *bias;

  ir::Value* y = conv.outputs[0];
  if (ir::Node* act = sole_consumer(graph, y); act && act->op_type == "SiLU") {
    conv.attrs[qconv::kActivationAttr] = std::string(qconv::kSiLU);
    state.removed.insert(act);
    y = act->outputs[0];
  }
  if (ir::Node* add = sole_consumer(graph, y); add && add->op_type == "Add" && add->inputs.size() == 2) {
    ir::Value* other = add->inputs[0] == y ? add->inputs[1] : add->inputs[0];
    if (other != y && other->dtype == ir::DType::kFloat32 && other->shape && y->shape && *other->shape == *y->shape) {
      inputs[qconv::kResidual] = other;
      state.removed.insert(add);
      y = add->outputs[0];
    }
  }
  if (std::vector<ir::Node*> qs = requantizing_consumers(graph, y); !qs.empty()) {
    inputs[qconv::kYScale] = qs[0]->input(1);
    inputs[qconv::kYZeroPoint] = qs[0]->input(2);
    for (ir::Node* q : qs) {
      if (q != qs[0]) graph.replace_all_uses(q->outputs[0], qs[0]->outputs[0]);
      state.removed.insert(q);
    }
    y = qs[0]->outputs[0];
  }
  while (!inputs.empty() && !inputs.back()) inputs.pop_back();
  conv.op_type = qconv::kOpType;
  conv.inputs = std::move(inputs);
  conv.outputs = {y};
  y->producer = &conv;
  ++state.lowered;
  return Status::Ok();
}

}  // namespace

Status lower_qdq(ir::Graph& graph) {
  Lowering state;
  for (const auto& node : graph.nodes())
    if (node->op_type == "Conv" && !state.removed.count(node.get()))
      KILN_RETURN_IF_ERROR(lower_conv(graph, *node, state));
  if (state.lowered == 0) return Status::Ok();
  graph.remove_nodes([&](const ir::Node& n) { return state.removed.count(&n) != 0; });
  // The residual may be computed after the conv it is now fused into.
  if (!graph.topological_sort()) return error(StatusCode::kInternal, "lower_qdq: the rewritten graph has a cycle");
  eliminate_dead_code(graph);  // DequantizeLinear nodes only the convs read
  return infer_shapes(graph).status();
}

}  // namespace kiln::passes
