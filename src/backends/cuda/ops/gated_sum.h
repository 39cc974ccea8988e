// What the gated sum's planner (ops/gated_sum.cu) tells the channel gate's planner.
#pragma once

#include "backends/cuda/plan.h"

namespace kiln::cuda {

// Whether the gate that starts at `fc1` (gate_at) is computed by the gated sum it feeds,
// from the stream it gates: then the gate is planned as nothing.
bool gate_folds_into_sum(const PlanBuilder& b, const ir::Node& fc1);

}  // namespace kiln::cuda
