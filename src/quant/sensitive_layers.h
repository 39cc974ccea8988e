// Which convolutions of a YOLO graph lose the most accuracy in INT8, found from the graph's
// structure rather than from layer names or indices, so every task and model size is covered.
#pragma once

#include <map>
#include <string>

#include "ir/graph.h"

namespace kiln::quant {

// True for the layers quantization considers: Conv (the only layer lowered to integer
// arithmetic). MatMul in attention multiplies two activations and Gemm is the classify
// head's linear layer: both stay float.
bool is_quantizable(const ir::Node& node);

// Quantizable nodes that should stay float, with the reason ("sensitive: first conv", ...):
// - first conv: reads a graph input (through no other layer);
// - detection head output: a graph output is reachable from it without another layer
//   (Detect's cv2/cv3 and Pose/OBB/Segment's cv4 last convs, the segment prototypes);
// - DFL: a conv between a Softmax and the outputs (the distribution-to-distance conv), and
//   the convs whose outputs reach it through glue count as head outputs;
// - attention: a MatMul is among the ops between it and its neighbouring layers (C2PSA's
//   qkv, pe and proj convs).
std::map<const ir::Node*, std::string> sensitive_layers(const ir::Graph& graph);

}  // namespace kiln::quant
