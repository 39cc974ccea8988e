// Dead code elimination: bypasses Identity nodes, drops nodes that do not contribute to a
// graph output, and removes the values nothing references any more.
#pragma once

#include "ir/graph.h"

namespace kiln::passes {

// Returns the number of nodes removed.
int eliminate_dead_code(ir::Graph& graph);

}  // namespace kiln::passes
