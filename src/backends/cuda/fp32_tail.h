// Which nodes of an FP16 engine compute in FP32: the tail after the last heavy op.
//
// A detector's head ends in cheap arithmetic on small tensors (DFL box decode, anchor and
// stride scaling, sigmoid, concat). In FP16 its box coordinates, up to 640 px, are
// rounded to 0.25-0.5 px; that costs mAP at the strict IoU thresholds and buys no speed.
// So every node from which no Conv, ConvTranspose, MatMul, Gemm or QConvInt8 can be reached (and that
// is not one itself) runs in FP32; its FP16 inputs are converted once on the way in.
#pragma once

#include <set>

#include "ir/graph.h"

namespace kiln::cuda {

std::set<const ir::Node*> fp32_tail(const ir::Graph& graph);

}  // namespace kiln::cuda
