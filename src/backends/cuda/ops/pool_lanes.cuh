// Max and average pooling of NHWC tensors whose channels come in 8-byte vectors (4 FP16 or 2
// FP32 values), one thread per output pixel and vector, with 32-bit index math: the scalar
// kernels' 64-bit divisions per element made OSNet's stem max pool 24 us and its transition
// average pools 11-20 us at batch 20, each on the critical path. Same arithmetic as the
// scalar kernels, tap by tap in the same order, so the same results.
#pragma once

#include <cfloat>
#include <climits>

#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"

namespace kiln::cuda {

struct PoolLanesArgs {
  int n, h, w, cv, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
  int pad_bottom, pad_right;  // average: the padded input's extent
  bool include_pad;           // average: count the padding's taps
};

// The vector width for T and c channels, 0 when c is not a multiple of it, the tensors are
// too large for 32-bit indices or a pointer is not 8-byte aligned.
template <typename T>
int pool_lanes(const PoolShape& s, const void* in, const void* out) {
  constexpr int v = 8 / sizeof(T);
  const bool fits = s.c % v == 0 && s.n * s.h * s.w * s.c < INT_MAX && s.n * s.oh * s.ow * s.c < INT_MAX &&
                    reinterpret_cast<uintptr_t>(in) % 8 == 0 && reinterpret_cast<uintptr_t>(out) % 8 == 0;
  return fits ? v : 0;
}

inline PoolLanesArgs pool_lanes_args(const PoolShape& s, int v, int64_t pad_bottom = 0, int64_t pad_right = 0,
                                     bool include_pad = false) {
  auto i = [](int64_t x) { return static_cast<int>(x); };
  return {i(s.n),  i(s.h),  i(s.w),  i(s.c / v), i(s.oh), i(s.ow), i(s.kh),         i(s.kw),         i(s.sh),
          i(s.sw), i(s.ph), i(s.pw), i(s.dh),    i(s.dw), i(pad_bottom), i(pad_right), include_pad};
}

template <typename T, bool kMax>
__global__ void pool_lanes_kernel(const uint2* __restrict__ in, uint2* __restrict__ out, PoolLanesArgs a) {
  begin_kernel();
  constexpr int V = 8 / sizeof(T);
  using L = Lanes<T, V>;
  const int total = a.n * a.oh * a.ow * a.cv;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const int v = i % a.cv, pixel = i / a.cv;
    const int ox = pixel % a.ow, oy = (pixel / a.ow) % a.oh, n = pixel / (a.ow * a.oh);
    const int y0 = oy * a.sh - a.ph, x0 = ox * a.sw - a.pw;
    float acc[V];
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = kMax ? -FLT_MAX : 0.f;
    int taps = 0;
    for (int r = 0; r < a.kh; ++r) {
      const int y = y0 + r * a.dh;
      if (y < 0 || y >= a.h) continue;
      for (int q = 0; q < a.kw; ++q) {
        const int x = x0 + q * a.dw;
        if (x < 0 || x >= a.w) continue;
        const uint2 raw = __ldg(in + ((n * a.h + y) * a.w + x) * a.cv + v);
        const L& lanes = *reinterpret_cast<const L*>(&raw);
#pragma unroll
        for (int j = 0; j < V; ++j) acc[j] = kMax ? fmaxf(acc[j], to_float(lanes.v[j])) : acc[j] + to_float(lanes.v[j]);
        ++taps;
      }
    }
    L result;
    if constexpr (kMax) {
#pragma unroll
      for (int j = 0; j < V; ++j) result.v[j] = from_float<T>(acc[j]);
    } else {
      const int y1 = min(y0 + a.kh, a.h + a.pad_bottom), x1 = min(x0 + a.kw, a.w + a.pad_right);
      const int count = a.include_pad ? (y1 - y0) * (x1 - x0) : taps;
#pragma unroll
      for (int j = 0; j < V; ++j) result.v[j] = from_float<T>(count > 0 ? acc[j] / static_cast<float>(count) : 0.f);
    }
    out[i] = *reinterpret_cast<const uint2*>(&result);
  }
}

}  // namespace kiln::cuda
