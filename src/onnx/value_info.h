// ONNX ValueInfoProto (graph inputs, outputs, value_info) -> ir::Value dtype and shape.
#pragma once

#include "ir/graph.h"
#include "kiln/status.h"
#include "onnx/import_context.h"
#include "onnx/onnx.pb.h"

namespace kiln::onnx {

// Sets `value`'s dtype and shape from `info` where it records them (dim_value -> known,
// dim_param -> symbolic, neither -> unknown Dim{}). Unsupported for non-tensor types and
// element types kiln lacks.
Status apply_value_info(const ::onnx::ValueInfoProto& info, ir::Value& value, const ImportContext& ctx);

}  // namespace kiln::onnx
