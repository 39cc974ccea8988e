#include "backends/cuda/concat_views.h"

#include <algorithm>
#include <vector>

#include "backends/cuda/ops/shape_util.h"
#include "ir/qconv_int8.h"

namespace kiln::cuda {
namespace {

const ir::Node* sole_consumer(const ir::Graph& g, const ir::Value* v) {
  if (g.is_graph_output(v)) return nullptr;
  const auto users = g.consumers(v);
  return users.size() == 1 ? users[0] : nullptr;
}

bool produced_by(const ir::Value* v, const char* op) { return v && v->producer && v->producer->op_type == op; }

// v is a Conv's output, or the SiLU folded into the conv that alone feeds it.
bool conv_or_conv_silu(const ir::Graph& g, const ir::Value* v) {
  if (produced_by(v, "Conv")) return true;
  if (!produced_by(v, "SiLU")) return false;
  const ir::Value* c = v->producer->input(0);
  return produced_by(c, "Conv") && sole_consumer(g, c) == v->producer;
}

// The Add's operand other than `v` is a conv (+SiLU) output feeding only this Add: the
// conv planner folds the Add in with `v` as the residual operand (as conv.cpp's
// residual_add decides; FP32 keeps the Add separate).
bool folds_as_residual(const ir::Graph& g, const ir::Node& add, const ir::Value* v, const BuildOptions& o) {
  if (!o.fuse_residual || float_precision(o) == Precision::kFp32 || add.op_type != "Add" || add.inputs.size() != 2)
    return false;
  const ir::Value* other = add.input(add.input(0) == v ? 1 : 0);
  return other != v && conv_or_conv_silu(g, other) && sole_consumer(g, other) == &add;
}

// The conv planner can write v: a conv (+SiLU) output, or the Add folded into such a conv,
// or a QConvInt8's float output.
bool written_by_conv(const ir::Graph& g, const ir::Value* v, const BuildOptions& o) {
  if (conv_or_conv_silu(g, v)) return true;
  if (produced_by(v, ir::qconv::kOpType)) return !v->producer->input(ir::qconv::kYScale);
  if (!produced_by(v, "Add")) return false;
  const ir::Node& add = *v->producer;
  for (size_t i = 0; i < 2 && i < add.inputs.size(); ++i)
    if (conv_or_conv_silu(g, add.input(i)) && folds_as_residual(g, add, add.input(1 - i), o)) return true;
  return false;
}

bool reads_through_strides(const ir::Graph& g, const ir::Node& user, const ir::Value* v, const BuildOptions& o) {
  if (user.op_type == "Concat" || user.op_type == "Split") return true;
  // An INT8 engine's quantize steps and its convs' residuals index pixels by the view's
  // stride (quantize.cu, qconv_int8.cpp).
  if (user.op_type == "QuantizeLinear") return user.input(0) == v;
  if (user.op_type == ir::qconv::kOpType) {
    for (size_t i = 0; i < user.inputs.size(); ++i)
      if (user.input(i) == v && i != ir::qconv::kResidual) return false;
    return true;
  }
  if (user.op_type == "Conv") {
    for (size_t i = 1; i < user.inputs.size(); ++i)
      if (user.input(i) == v) return false;
    return true;
  }
  return folds_as_residual(g, user, v, o);
}

bool static_rank4(const ir::Value* v) { return v && v->shape && ir::is_static(*v->shape) && v->shape->size() == 4; }

int64_t channels(const ir::Value* v) { return ir::static_dims(*v->shape)[1]; }

// A value that may live in a Concat buffer: computed at run time, not a graph output (the
// output copy would do, but keep outputs plain), every consumer reading through strides.
bool placeable(const ir::Graph& g, const ir::Value* v, const BuildOptions& o) {
  return v && !v->is_constant() && v->producer && !g.is_graph_output(v) && static_rank4(v) &&
         consumers_read_channel_views(g, v, o);
}

}  // namespace

bool consumers_read_channel_views(const ir::Graph& g, const ir::Value* v, const BuildOptions& o) {
  for (const ir::Node* user : g.consumers(v))
    if (!reads_through_strides(g, *user, v, o)) return false;
  return true;
}

std::map<const ir::Value*, ChannelPlacement> place_concat_operands(const ir::Graph& g, const BuildOptions& o,
                                                                   size_t elem_bytes,
                                                                   const std::set<const ir::Node*>& fp32_nodes) {
  std::map<const ir::Value*, ChannelPlacement> placed;
  if (o.direct_conv) return placed;
  auto aligned = [&](int64_t c) { return c * static_cast<int64_t>(elem_bytes) % 16 == 0; };
  for (const auto& node : g.nodes()) {
    const ir::Node& cat = *node;
    if (cat.op_type != "Concat" || cat.outputs.size() != 1 || !static_rank4(cat.outputs[0]) || fp32_nodes.count(&cat))
      continue;
    if (normalize_axis(cat.attr_int("axis", 0), 4) != 1 || !aligned(channels(cat.outputs[0]))) continue;
    bool shapes_ok = true;
    for (const ir::Value* v : cat.inputs) shapes_ok = shapes_ok && static_rank4(v);
    if (!shapes_ok) continue;
    const ir::Value* buffer = cat.outputs[0];
    int64_t at = 0;
    for (size_t i = 0; i < cat.inputs.size();) {
      const ir::Value* v = cat.input(i);
      // All outputs of a channel Split, in order, as consecutive operands: the Split's input
      // goes in place and its outputs (views of it, split.cpp) land where the Concat wants them.
      if (produced_by(v, "Split") && normalize_axis(v->producer->attr_int("axis", 0), 4) == 1) {
        const ir::Node& split = *v->producer;
        const ir::Value* t = split.input(0);
        const size_t k = split.outputs.size();
        bool run = i + k <= cat.inputs.size();
        for (size_t j = 0; run && j < k; ++j) run = cat.input(i + j) == split.outputs[j];
        if (run && placeable(g, t, o) && written_by_conv(g, t, o) && !placed.count(t) && aligned(at)) {
          placed[t] = {buffer, at};
          at += channels(t);
          i += k;
          continue;
        }
      }
      if (placeable(g, v, o) && written_by_conv(g, v, o) && !placed.count(v) && aligned(at)) placed[v] = {buffer, at};
      at += channels(v);
      ++i;
    }
  }
  return placed;
}

}  // namespace kiln::cuda
