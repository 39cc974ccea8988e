// ONNX Constant nodes become initialized Values in kiln's IR (there is no Constant op).
#pragma once

#include "ir/tensor.h"
#include "kiln/status.h"
#include "onnx/import_context.h"
#include "onnx/onnx.pb.h"

namespace kiln::onnx {

// The tensor a Constant node produces, from its one attribute: value, value_float(s) or
// value_int(s). Sparse and string constants are Unsupported.
Result<ir::Tensor> constant_node_value(const ::onnx::NodeProto& node, const ImportContext& ctx);

}  // namespace kiln::onnx
