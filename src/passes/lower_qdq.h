// Lowers Q/DQ graphs (ONNX QDQ models, or quant::insert_qdq's output) to kiln's integer ops.
#pragma once

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::passes {

// Rewrites DequantizeLinear(x_q) / DequantizeLinear(w_q) -> Conv (+SiLU) (+residual Add)
// [-> QuantizeLinear] into one QConvInt8 (ir/qconv_int8.h: int8 x int8 -> exact int32
// accumulation, then bias, activation, residual and requantization fused), leaving Q/DQ only
// at precision boundaries. A conv is lowered when x_q is int8 with one scale and zero point,
// w_q a constant int8 kernel with one scale or one per output channel (axis 0) and zero
// point 0, and the bias absent, a float constant or the DequantizeLinear of one; the output
// is int8 when every consumer is a QuantizeLinear to int8 with the same scale and zero point.
// Run after passes::optimize (which keeps DequantizeLinear of constant weights unfolded)
// and before the backends; shapes are re-inferred.
Status lower_qdq(ir::Graph& graph);

}  // namespace kiln::passes
