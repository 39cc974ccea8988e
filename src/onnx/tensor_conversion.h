// ONNX TensorProto -> ir::Tensor, including tensors stored as ONNX external data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ir/dtype.h"
#include "ir/tensor.h"
#include "kiln/status.h"
#include "onnx/import_context.h"
#include "onnx/onnx.pb.h"

namespace kiln::onnx {

// "FLOAT", "DOUBLE", ... for error messages.
std::string onnx_dtype_name(int32_t onnx_type);

// Converts `proto`; `what` names it in errors (e.g. "initializer 'conv.weight'").
Result<ir::Tensor> tensor_from_proto(const ::onnx::TensorProto& proto, const std::string& what,
                                     const ImportContext& ctx);

}  // namespace kiln::onnx
