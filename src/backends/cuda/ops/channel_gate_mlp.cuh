// A channel gate's two layers on the means of its channels, as the device code of both the
// channel gate's kernel (ops/channel_gate.cu) and the gated sum that computes its streams'
// gates (ops/gated_sum.cu) runs them: one sum order, so both give the same gates.
#pragma once

#include "backends/cuda/device_util.cuh"
#include "backends/cuda/ops/channel_gate.h"

namespace kiln::cuda {

// Hidden unit j: act(fc1 row j . means + b1[j]), ReLU or SiLU. Called by all 32 lanes of a
// warp, each taking every 32nd channel; every lane returns the unit.
__device__ __forceinline__ float gate_hidden_unit(const GateWeights& w, const float* means, int c, int j,
                                                  bool silu_hidden) {
  const int lane = threadIdx.x % 32;
  float s = 0.f;
  for (int i = lane; i < c; i += 32) s += w.w1[j * c + i] * means[i];
  for (int o = 16; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
  s += w.b1[j];
  return silu_hidden ? silu(s) : fmaxf(s, 0.f);
}

// The gate of channel i: Sigmoid(fc2 row i . hidden + b2[i]).
__device__ __forceinline__ float gate_of_channel(const GateWeights& w, const float* hidden_units, int hidden, int i) {
  float s = w.b2[i];
  for (int j = 0; j < hidden; ++j) s += w.w2[i * hidden + j] * hidden_units[j];
  return sigmoid(s);
}

}  // namespace kiln::cuda
