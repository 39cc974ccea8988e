// ONNX AttributeProto -> ir::AttrValue.
#pragma once

#include <string>

#include "ir/graph.h"
#include "kiln/status.h"
#include "onnx/import_context.h"
#include "onnx/onnx.pb.h"

namespace kiln::onnx {

// `node_name` names the owning node in errors. GRAPH(S), SPARSE_TENSOR(S) and TYPE_PROTO
// attributes are Unsupported.
Result<ir::AttrValue> attr_from_proto(const ::onnx::AttributeProto& attr, const std::string& node_name,
                                      const ImportContext& ctx);

}  // namespace kiln::onnx
