// Device helpers shared by the kernels in ops/*.cu: float <-> storage type, launch sizing,
// and dispatch on kiln's activation dtypes (float32, float16).
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "backends/cuda/kernels.h"
#include "ir/dtype.h"

namespace kiln::cuda {

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
template <typename T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_float<__half>(float v) { return __float2half_rn(v); }

__device__ __forceinline__ float silu(float x) { return x / (1.f + __expf(-x)); }
__device__ __forceinline__ float sigmoid(float x) { return 1.f / (1.f + __expf(-x)); }
// A conv's activation after its bias (kernels.h: ConvAct).
__device__ __forceinline__ float activate(float v, ConvAct act) {
  switch (act) {
    case ConvAct::kSiLU: return silu(v);
    case ConvAct::kRelu: return fmaxf(v, 0.f);
    case ConvAct::kSigmoid: return sigmoid(v);
    default: return v;
  }
}

// Calls f with `act` as a compile-time constant (a std::integral_constant), so that a kernel
// branches on its activation once instead of once per element.
template <typename F>
__device__ __forceinline__ void with_activation(ConvAct act, F&& f) {
  switch (act) {
    case ConvAct::kSiLU: f(std::integral_constant<ConvAct, ConvAct::kSiLU>{}); break;
    case ConvAct::kRelu: f(std::integral_constant<ConvAct, ConvAct::kRelu>{}); break;
    case ConvAct::kSigmoid: f(std::integral_constant<ConvAct, ConvAct::kSigmoid>{}); break;
    default: f(std::integral_constant<ConvAct, ConvAct::kNone>{}); break;
  }
}

// QuantizeLinear of one value to int8, as the CPU kernel computes it (cpu/ops/quantize_util.h):
// divide, clamp, round half to even, add the zero point. Exact only in code compiled with
// -fmad=false.
__device__ __forceinline__ int8_t quantize_int8(float x, float scale, int32_t zero) {
  const float v = fminf(fmaxf(x / scale, -128.f - float(zero)), 127.f - float(zero));
  return int8_t(int32_t(nearbyintf(v)) + zero);
}

// Where element i of an NHWC tensor with h rows, w columns and c channels sits: the loop
// index of the output-per-thread kernels (pooling, direct and transposed convs).
struct NhwcPos {
  int64_t n, y, x, c;
};
__device__ __forceinline__ NhwcPos nhwc_pos(int64_t i, int64_t h, int64_t w, int64_t c) {
  return {i / (c * w * h), (i / (c * w)) % h, (i / c) % w, i % c};
}
// The same for tensors of under 2^32 elements: 32-bit divisions are inline, where each 64-bit
// one is a call of some 70 instructions.
__device__ __forceinline__ NhwcPos nhwc_pos(uint32_t i, uint32_t h, uint32_t w, uint32_t c) {
  const uint32_t pixel = i / c, row = pixel / w;
  return {row / h, row % h, pixel - row * w, i - pixel * c};
}

// An output pixel's kh x kw window over an h x w input (stride, padding, dilation), and
// for_each_tap, which calls f(r, q, y, x) for each tap (r, q) whose input row y and column x
// lie inside the input: the window walk of the direct convs and max pooling.
struct Window {
  int64_t h, w, kh, kw, sh, sw, ph, pw, dh, dw;
};
template <typename F>
__device__ __forceinline__ void for_each_tap(const Window& win, int64_t oy, int64_t ox, F&& f) {
  for (int64_t r = 0; r < win.kh; ++r) {
    const int64_t y = oy * win.sh - win.ph + r * win.dh;
    if (y < 0 || y >= win.h) continue;
    for (int64_t q = 0; q < win.kw; ++q) {
      const int64_t x = ox * win.sw - win.pw + q * win.dw;
      if (x < 0 || x >= win.w) continue;
      f(r, q, y, x);
    }
  }
}
__device__ __forceinline__ Window conv_window(const ConvShape& s) {
  return {s.h, s.w, s.r, s.s, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw};
}
__device__ __forceinline__ Window pool_window(const PoolShape& s) {
  return {s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw};
}

// V consecutive elements of T, loaded and stored as one access (the vector kernels use 16
// or 8 bytes).
template <typename T, int V>
struct alignas(sizeof(T) * V) Lanes {
  T v[V];
};
// Whether every pointer is 16-byte aligned (a view at a byte offset may not be).
template <typename... P>
__host__ __device__ __forceinline__ bool aligned16(const P*... p) {
  return ((reinterpret_cast<uintptr_t>(p) % 16 == 0) && ...);
}

inline constexpr int kThreads = 256;
// Dynamic shared memory a block may take without opting in to more.
inline constexpr size_t kMaxSharedBytes = 48 * 1024;
// Grid for a grid-stride loop over n elements (capped; the loop covers the rest).
inline unsigned grid_for(int64_t n) {
  int64_t blocks = (n + kThreads - 1) / kThreads;
  if (blocks > 65535 * 8) blocks = 65535 * 8;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks);
}

// Calls f(float{}) or f(__half{}) for an activation dtype; false for any other dtype.
template <typename F>
bool dispatch_float(ir::DType t, F&& f) {
  if (t == ir::DType::kFloat32) { f(float{}); return true; }
  if (t == ir::DType::kFloat16) { f(__half{}); return true; }
  return false;
}

}  // namespace kiln::cuda
