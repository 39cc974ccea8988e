// Folds BatchNormalization into the Conv that feeds it: w' = w*g/sqrt(v+eps) per output
// channel, b' = (b-m)*g/sqrt(v+eps) + beta. Only when the Conv output feeds nothing else
// and is not a graph output; other BN nodes (e.g. after Gemm) stay and run as ops.
#pragma once

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::passes {

// Returns the number of BatchNormalization nodes folded.
Result<int> fold_batchnorm(ir::Graph& graph);

}  // namespace kiln::passes
