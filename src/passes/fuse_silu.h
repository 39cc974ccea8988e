// Fuses Mul(x, Sigmoid(x)) (either input order) into kiln's SiLU op, when the Sigmoid's
// output feeds only that Mul and is not a graph output.
#pragma once

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::passes {

// Returns the number of SiLU nodes made.
int fuse_silu(ir::Graph& graph);

}  // namespace kiln::passes
