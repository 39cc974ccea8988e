#include "quant/quantize_graph.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "backends/cpu/ops/quantize_util.h"
#include "quant/sensitive_layers.h"

namespace kiln::quant {
namespace {

bool from_dequantize(const ir::Value* v) {
  return v && v->producer && v->producer->op_type == "DequantizeLinear";
}

// Float layers are also those whose weight is not a float constant of a 2-D conv.
bool has_constant_conv_weight(const ir::Node& node) {
  const ir::Value* w = node.input(1);
  return w && w->is_constant() && w->dtype == ir::DType::kFloat32 && w->initializer->rank() == 4;
}

// The scale that maps [-amax, amax] onto [-127, 127]. An all-zero tensor (amax 0) takes
// scale 1: any scale represents zeros exactly, and a zero scale would divide by zero.
float symmetric_scale(float amax) { return amax > 0 ? amax / 127.0f : 1.0f; }

std::string excluded_by(const std::string& node, const QuantizeOptions& options) {
  for (const std::string& pattern : options.exclude)
    if (fnmatch(pattern.c_str(), node.c_str(), 0) == 0) return pattern;
  return {};
}

LayerChoice choose(const ir::Node& node, const std::map<const ir::Node*, std::string>& sensitive,
                   const QuantizeOptions& options) {
  LayerChoice c{node.name, node.op_type, LayerPrecision::kFloat, {}};
  if (std::string pattern = excluded_by(node.name, options); !pattern.empty()) {
    c.reason = "excluded by --int8-exclude '" + pattern + "'";
  } else if (std::find(options.keep_float.begin(), options.keep_float.end(), node.name) != options.keep_float.end()) {
    c.reason = "kept float by sensitivity analysis";
  } else if (auto it = sensitive.find(&node); options.keep_sensitive_float && it != sensitive.end()) {
    c.reason = it->second;
  } else if (!has_constant_conv_weight(node)) {
    c.reason = "weight is not a constant 2-D conv kernel";
  } else {
    c.precision = LayerPrecision::kInt8;
    c.reason = "calibrated";
  }
  return c;
}

// QuantizeLinear -> DequantizeLinear of `x`, inserted before `before`; returns the
// dequantized value. The scale and zero point are shared by both nodes.
ir::Value* insert_activation_qdq(ir::Graph& graph, const ir::Node& before, ir::Value* x, float amax) {
  ir::Value* scale = graph.add_constant(x->name + "_scale", ir::Tensor::scalar<float>(symmetric_scale(amax)));
  ir::Value* zero = graph.add_constant(x->name + "_zero_point", ir::Tensor::scalar<int8_t>(0));
  ir::Value* q = graph.add_value(x->name + "_quantized");
  q->dtype = ir::DType::kInt8;
  q->shape = x->shape;
  ir::Value* dq = graph.add_value(x->name + "_dequantized");
  dq->shape = x->shape;
  graph.insert_node_before(&before, "QuantizeLinear", x->name + "_QuantizeLinear", {x, scale, zero}, {q});
  graph.insert_node_before(&before, "DequantizeLinear", x->name + "_DequantizeLinear", {q, scale, zero}, {dq});
  return dq;
}

// Per-output-channel symmetric int8 weights -> DequantizeLinear (axis 0), inserted before
// `before`; returns the dequantized value.
ir::Value* insert_weight_dq(ir::Graph& graph, const ir::Node& before, const ir::Value& w) {
  const ir::Tensor& wf = *w.initializer;
  const int64_t channels = wf.dim(0);
  const int64_t per_channel = wf.numel() / channels;
  std::vector<float> scales(static_cast<size_t>(channels));
  ir::Tensor wq(ir::DType::kInt8, wf.shape());
  for (int64_t c = 0; c < channels; ++c) {
    const float* src = wf.data<float>() + c * per_channel;
    float amax = 0;
    for (int64_t i = 0; i < per_channel; ++i) amax = std::max(amax, std::fabs(src[i]));
    scales[c] = symmetric_scale(amax);
    for (int64_t i = 0; i < per_channel; ++i)
      wq.data<int8_t>()[c * per_channel + i] = cpu::quantize_value<int8_t>(src[i], scales[c], 0);
  }
  ir::Value* q = graph.add_constant(w.name + "_quantized", std::move(wq));
  ir::Value* scale = graph.add_constant(w.name + "_scale", ir::Tensor::from_vector<float>({channels}, scales));
  ir::Value* dq = graph.add_value(w.name + "_dequantized");
  dq->shape = q->shape;
  ir::Node* node = graph.insert_node_before(&before, "DequantizeLinear", w.name + "_DequantizeLinear", {q, scale}, {dq});
  node->attrs["axis"] = int64_t{0};
  return dq;
}

}  // namespace

std::string_view to_string(LayerPrecision p) { return p == LayerPrecision::kInt8 ? "int8" : "float"; }

std::vector<std::string> calibration_points(const ir::Graph& graph) {
  std::vector<std::string> points;
  for (const auto& node : graph.nodes()) {
    const ir::Value* x = node->input(0);
    if (!is_quantizable(*node) || !x || x->is_constant()) continue;
    if (std::find(points.begin(), points.end(), x->name) == points.end()) points.push_back(x->name);
  }
  return points;
}

bool has_qdq(const ir::Graph& graph) {
  return std::any_of(graph.nodes().begin(), graph.nodes().end(), [](const auto& n) {
    return n->op_type == "QuantizeLinear" || n->op_type == "DequantizeLinear";
  });
}

Result<std::vector<LayerChoice>> insert_qdq(ir::Graph& graph, const ActivationRanges& ranges,
                                            const QuantizeOptions& options) {
  const std::map<const ir::Node*, std::string> sensitive = sensitive_layers(graph);
  std::vector<LayerChoice> choices;
  std::vector<ir::Node*> to_quantize;
  for (const auto& node : graph.nodes()) {
    if (!is_quantizable(*node)) continue;
    choices.push_back(choose(*node, sensitive, options));
    if (choices.back().precision == LayerPrecision::kInt8) to_quantize.push_back(node.get());
  }
  // Every range is checked before the graph changes, so a failure leaves it as it was.
  for (const ir::Node* node : to_quantize) {
    const ir::Value* x = node->input(0);
    auto it = ranges.find(x->name);
    if (it == ranges.end())
      return error(StatusCode::kInvalidArgument, "insert_qdq: node '", node->name, "' (Conv): no activation range for its input '",
                   x->name, "'");
    if (!std::isfinite(it->second) || it->second < 0)
      return error(StatusCode::kInvalidArgument, "insert_qdq: node '", node->name, "' (Conv): activation range of '",
                   x->name, "' is ", it->second, ", not a finite amax >= 0");
  }
  std::unordered_map<const ir::Value*, ir::Value*> dequantized;  // shared by all int8 readers
  for (ir::Node* node : to_quantize) {
    for (size_t i : {size_t{0}, size_t{1}}) {
      ir::Value* v = node->inputs[i];
      auto [it, fresh] = dequantized.emplace(v, nullptr);
      if (fresh)
        it->second = i == 0 ? insert_activation_qdq(graph, *node, v, ranges.at(v->name)) : insert_weight_dq(graph, *node, *v);
      node->inputs[i] = it->second;
    }
  }
  graph.remove_unused_values();  // float weights no layer reads any more
  return choices;
}

std::vector<LayerChoice> describe_qdq(const ir::Graph& graph) {
  std::vector<LayerChoice> choices;
  for (const auto& node : graph.nodes()) {
    if (!is_quantizable(*node)) continue;
    const bool int8 = from_dequantize(node->input(0)) && from_dequantize(node->input(1));
    choices.push_back({node->name, node->op_type, int8 ? LayerPrecision::kInt8 : LayerPrecision::kFloat,
                       int8 ? "QDQ model" : "not quantized in the QDQ model"});
  }
  return choices;
}

}  // namespace kiln::quant
