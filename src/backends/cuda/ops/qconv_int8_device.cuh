// Device code shared by the QConvInt8 kernel files (qconv_int8_*.cu): the fused epilogue and
// the launchers of the kernels that live in their own files.
#pragma once

#include <type_traits>

#include "backends/cuda/device_util.cuh"
#include "backends/cuda/ops/qconv_int8_kernel.h"
#include "ir/qconv_int8.h"

namespace kiln::cuda {

// Output channel k's constants of the epilogue, for kernels that read them once per channel
// rather than once per element: zero_sum = x_zero_point * sum(w), which the raw sum (the
// padding taps reading the zero point) less it makes the exact accumulator.
struct QConvChannel {
  float scale, bias;
  int32_t zero_sum;
};
__device__ __forceinline__ QConvChannel qconv_channel(const QConvInt8Args& a, int64_t k) {
  return {a.scale[k], a.bias[k], a.x_zero_point * a.w_sum[k]};
}

// SiLU as the CPU computes it, y / (1 + expf(-y)), but divided by __fdividef (within 2 ulp of
// the division; 0 where 1 + expf(-y) exceeds 2^126, y < -87, where the quotient is below
// 1e-36), for qconv_run_outputs: the IEEE division checks each element's operands and
// branches to a slow path, a branch region per element that keeps a run's elements from
// interleaving. Its outputs stay within a quantization step of the CPU's, as expf's ulp
// already makes them. The element-wise epilogue (qconv_epilogue) keeps the division.
__device__ __forceinline__ float qconv_silu(float y) { return __fdividef(y, 1.0f + expf(-y)); }

// An output element as a float, from its channel's exact accumulator and, when the node has
// one, the pixel's residual element: scale, bias, SiLU, residual.
__device__ __forceinline__ float qconv_epilogue(const QConvInt8Args& a, float scale, float bias, int32_t acc,
                                                float residual) {
  float v = ir::qconv::dequantize_accumulator(acc, scale, bias);
  if (a.silu) v = ir::qconv::silu(v);
  if (a.residual) v += residual;
  return v;
}

// Output element (pixel, k) of the NHWC output as a float, the residual read here.
template <typename T>
__device__ __forceinline__ float qconv_epilogue(const QConvInt8Args& a, int64_t pixel, int64_t k, int32_t acc) {
  return qconv_epilogue(a, a.scale[k], a.bias[k], acc,
                        a.residual ? to_float(static_cast<const T*>(a.residual)[pixel * a.s.k + k]) : 0.f);
}

// An output value in the output's dtype O: int8 (requantized) or the float dtype.
template <typename O>
__device__ __forceinline__ O qconv_output(const QConvInt8Args& a, float v) {
  if constexpr (std::is_same_v<O, int8_t>)
    return ir::qconv::requantize_by_reciprocal(v, a.y_scale, a.y_inv_scale, a.y_zero_point);
  else return from_float<O>(v);
}

// E consecutive outputs of one pixel (dtype O: int8 or float), from their channels' constants,
// exact accumulators and residuals (read when the node has one): the steps of
// qconv_epilogue and qconv_output, each over the whole run, so that a branch (SiLU or not, a
// requantization near a rounding tie) is taken once per run and the elements' instructions
// interleave. Near a tie, the run divides, as requantize does.
template <typename O, int E>
__device__ __forceinline__ void qconv_run_outputs(const QConvInt8Args& a, const QConvChannel (&ch)[E],
                                                  const int32_t (&acc)[E], const float (&residual)[E], O (&out)[E]) {
  float v[E];
#pragma unroll
  for (int e = 0; e < E; ++e) v[e] = ir::qconv::dequantize_accumulator(acc[e] - ch[e].zero_sum, ch[e].scale, ch[e].bias);
  if (a.silu)
#pragma unroll
    for (int e = 0; e < E; ++e) v[e] = qconv_silu(v[e]);
  if (a.residual)
#pragma unroll
    for (int e = 0; e < E; ++e) v[e] += residual[e];
  if constexpr (std::is_same_v<O, int8_t>) {
    float rounded[E];
    bool near_tie = false;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const float q = v[e] * a.y_inv_scale;
      rounded[e] = nearbyintf(q);
      near_tie |= ir::qconv::near_rounding_tie(q, rounded[e]);
    }
    if (near_tie) {  // one branch for the run; rare
#pragma unroll
      for (int e = 0; e < E; ++e) out[e] = ir::qconv::requantize(v[e], a.y_scale, a.y_zero_point);
    } else {
#pragma unroll
      for (int e = 0; e < E; ++e) out[e] = ir::qconv::saturate_int8(rounded[e], a.y_zero_point);
    }
  } else {
#pragma unroll
    for (int e = 0; e < E; ++e) out[e] = from_float<O>(v[e]);
  }
}

// Stores output element (pixel, k): requantized to int8, or in the float dtype T.
template <typename T>
__device__ __forceinline__ void qconv_store(const QConvInt8Args& a, int64_t pixel, int64_t k, int32_t acc) {
  const int64_t i = pixel * a.y_pixel_stride + k;
  const float v = qconv_epilogue<T>(a, pixel, k, acc);
  if (a.int8_output) static_cast<int8_t*>(a.y)[i] = qconv_output<int8_t>(a, v);
  else static_cast<T*>(a.y)[i] = qconv_output<T>(a, v);
}

Status launch_qconv_int8_depthwise(const QConvInt8Args& a, cudaStream_t stream);
Status launch_qconv_int8_mma(const QConvInt8Args& a, cudaStream_t stream);

}  // namespace kiln::cuda
