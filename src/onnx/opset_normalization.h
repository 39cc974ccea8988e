// Rewrites nodes exported under older opsets into the form the latest ONNX opset defines,
// so every pass and backend handles one form of each op.
#pragma once

#include "ir/graph.h"
#include "kiln/status.h"
#include "onnx/import_context.h"

namespace kiln::onnx {

// Normalizes `node` (already added to `graph`, inputs resolved) given the model's
// default-domain opset `ctx.opset`. Unsupported when the old semantics have no exact
// modern equivalent.
Status normalize_to_latest_opset(ir::Graph& graph, ir::Node& node, const ImportContext& ctx);

}  // namespace kiln::onnx
