// A squeeze-and-excitation gate as its planners see it: what the channel gate's planner
// (ops/channel_gate.cu) tells the pooling planner and the gated sum's planner, which
// computes the gates itself where it can (ops/gated_sum.cu).
#pragma once

#include <optional>

#include "backends/cuda/plan.h"

namespace kiln::cuda {

// The gate that starts at `fc1`: [N, C, 1, 1] -> fc1 -> ReLU/SiLU -> fc2 -> Sigmoid.
struct Gate {
  const ir::Tensor *w1 = nullptr, *w2 = nullptr;
  const ir::Node *act1 = nullptr, *fc2 = nullptr, *act2 = nullptr;
  int64_t n = 0, c = 0, hidden = 0;
};
std::optional<Gate> gate_at(const PlanBuilder& b, const ir::Node& fc1);

// A gate's weights uploaded as FP32: w1 [hidden][c], b1 [hidden], w2 [c][hidden], b2 [c].
struct GateWeights {
  const float *w1 = nullptr, *b1 = nullptr, *w2 = nullptr, *b2 = nullptr;
};
Result<GateWeights> upload_gate(PlanBuilder& b, const ir::Node& fc1, const Gate& g);

// Whether `pool` is a GlobalAveragePool whose output alone starts a channel gate
// (plan_channel_gate): then the pool is planned as nothing and the gate's step takes the
// means itself.
bool pools_into_channel_gate(const PlanBuilder& b, const ir::Node& pool);

}  // namespace kiln::cuda
