// An inference BatchNormalization as a per-channel affine map y = x * scale[c] + shift[c]
// (scale = gamma / sqrt(var + eps), shift = beta - mean * scale), computed on the host in
// FP32: used by the BatchNormalization planner and by Gemm, which folds a following one.
#pragma once

#include <cmath>
#include <vector>

#include "backends/cuda/plan.h"

namespace kiln::cuda {

struct ChannelAffine {
  std::vector<float> scale, shift;
};

inline Result<ChannelAffine> batch_norm_affine(const PlanBuilder& b, const ir::Node& bn, int64_t channels) {
  if (bn.attr_int("training_mode", 0) != 0 || (bn.outputs.size() > 1 && bn.outputs[1]))
    return error(StatusCode::kUnsupported, "training mode");
  std::vector<float> p[4];  // gamma, beta, mean, var
  for (size_t i = 0; i < 4; ++i) {
    const ir::Tensor* t = b.constant_input(bn, i + 1);
    if (!t) return error(StatusCode::kUnsupported, "input ", i + 1, " must be a constant");
    if (t->numel() != channels) return error(StatusCode::kInvalidArgument, "input ", i + 1, " needs ", channels, " values");
    ir::Tensor f = t->to_float32();
    p[i].assign(f.data<float>(), f.data<float>() + channels);
  }
  const float eps = bn.attr_float("epsilon", 1e-5f);
  ChannelAffine r;
  r.scale.resize(static_cast<size_t>(channels));
  r.shift.resize(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    r.scale[c] = p[0][c] / std::sqrt(p[3][c] + eps);
    r.shift[c] = p[1][c] - p[2][c] * r.scale[c];
  }
  return r;
}

}  // namespace kiln::cuda
