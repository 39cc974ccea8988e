// Quantization of an optimized FP32 graph for INT8 engines: which layers run in INT8 and the
// QuantizeLinear / DequantizeLinear pairs that say so -- the same form ONNX QDQ models arrive in,
// so one lowering (passes/lower_qdq.h: lower_qdq) turns both into kiln's integer ops.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::quant {

// |x| <= amax for each activation a quantized layer reads, by value name in the optimized
// FP32 graph: calibration's result. Symmetric INT8: zero point 0, scale amax / 127.
using ActivationRanges = std::map<std::string, float>;

enum class LayerPrecision { kInt8, kFloat };
std::string_view to_string(LayerPrecision p);  // "int8", "float"

// One quantizable layer (every Conv; MatMul/Gemm where supported) and what it runs in, and why.
struct LayerChoice {
  std::string node;  // node name in the graph
  std::string op;    // "Conv", ...
  LayerPrecision precision = LayerPrecision::kFloat;
  // "calibrated", "QDQ model", "sensitive: first conv", "sensitive: detection head output",
  // "sensitive: DFL", "sensitive: attention", "excluded by --int8-exclude '<pattern>'",
  // "kept float by sensitivity analysis (...)", ...
  std::string reason;
};

struct QuantizeOptions {
  // The first conv, the detection head's last convs (cv2.*.2 / cv3.*.2 / cv4.*.2 / proto
  // outputs), DFL and attention stay float.
  bool keep_sensitive_float = true;
  std::vector<std::string> exclude;     // fnmatch(3) patterns on node names, kept float
  std::vector<std::string> keep_float;  // exact node names kept float (sensitivity analysis)
};

// The activations calibration must range: the data input of every quantizable layer, each
// value once, in graph order.
std::vector<std::string> calibration_points(const ir::Graph& graph);

// True when the graph carries QuantizeLinear / DequantizeLinear nodes (a QDQ model).
bool has_qdq(const ir::Graph& graph);

// Quantizes an optimized FP32 graph: for every quantizable layer not kept float, one
// QuantizeLinear -> DequantizeLinear pair per input value (shared by all its readers; int8,
// zero point 0, scale amax/127 from `ranges`) and per-output-channel symmetric int8 weights
// (constant int8 tensor -> DequantizeLinear, axis 0, scale max|w_c|/127). Returns every
// quantizable layer's choice, in graph order. A layer to quantize whose input has no range is
// an InvalidArgument naming the node and the value.
Result<std::vector<LayerChoice>> insert_qdq(ir::Graph& graph, const ActivationRanges& ranges,
                                            const QuantizeOptions& options);

// For a graph that arrived with Q/DQ nodes: every quantizable layer's choice ("QDQ model" when
// its input and weight come through DequantizeLinear, else float), in graph order.
std::vector<LayerChoice> describe_qdq(const ir::Graph& graph);

}  // namespace kiln::quant
