// Constant folding: evaluates, with the CPU reference kernels, every node whose inputs are
// all constants, and replaces its outputs by constant Values. With the tracked values of
// shape inference, outputs whose every element is known (e.g. Gather(Shape(x), 2) when only
// the batch is symbolic) fold too.
#pragma once

#include <cstdint>

#include "ir/graph.h"
#include "kiln/status.h"
#include "passes/shape_inference.h"

namespace kiln::passes {

// Outputs larger than this many elements are left to run time rather than stored.
inline constexpr int64_t kMaxFoldedElements = int64_t{16} << 20;

// Returns the number of nodes folded away. `known` is shape inference's result (optional).
Result<int> fold_constants(ir::Graph& graph, const ShapeValues* known = nullptr);

}  // namespace kiln::passes
