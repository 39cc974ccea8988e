// What the channel gate's planner (ops/channel_gate.cu) tells the pooling planner.
#pragma once

#include "backends/cuda/plan.h"

namespace kiln::cuda {

// Whether `pool` is a GlobalAveragePool whose output alone starts a channel gate
// (plan_channel_gate): then the pool is planned as nothing and the gate's step takes the
// means itself.
bool pools_into_channel_gate(const PlanBuilder& b, const ir::Node& pool);

}  // namespace kiln::cuda
