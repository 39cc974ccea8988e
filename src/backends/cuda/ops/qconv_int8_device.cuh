// Device code shared by the QConvInt8 kernel files (qconv_int8_*.cu): the fused epilogue and
// the launchers of the kernels that live in their own files.
#pragma once

#include <type_traits>

#include "backends/cuda/device_util.cuh"
#include "backends/cuda/ops/qconv_int8_kernel.h"
#include "ir/qconv_int8.h"

namespace kiln::cuda {

// The epilogue of the tensor-core, depthwise and narrow-conv kernels (qconv_int8_mma.cu,
// qconv_int8_depthwise.cu, qconv_int8_pixel.cu), where the 1x1 and depthwise convs spend
// most of their instructions: single-precision steps in fewer instructions than the CPU's
// exact ones, each output within one quantization step of the CPU's (float outputs within a
// few ulp): the scale and bias as one FMA, SiLU by the hardware's exp2 and reciprocal
// (silu_fast; -0 below y = -88, where the quotient is under 1e-36), the
// requantization as one FMA with 1 / y_scale and the zero point, rounded to nearest even and
// saturated to int8 by one conversion. The tiled dp4a and direct kernels keep
// qconv_epilogue's exact steps.
//
// An output channel's constants for the sum the kernel has: the depthwise kernel's is exact
// (scale and bias as they are); the tensor-core and narrow-conv kernels' padding taps read the
// zero point, so their raw sum includes x_zero_point * sum(w), which the plan folded into
// raw_bias.
struct QConvChannel {
  float scale, bias;
};
__device__ __forceinline__ QConvChannel qconv_channel(const QConvInt8Args& a, int64_t k) {
  return {a.scale[k], a.raw_bias[k]};
}

// x / (1 + e^-x) by the hardware's exp2 and reciprocal, denormals flushed: __expf and
// __fdividef give the same values for normal numbers but guard denormal inputs and results
// with a comparison and two multiplications each, a third of a 1x1 conv's epilogue.
__device__ __forceinline__ float silu_fast(float x) {
  float e, r;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(e) : "f"(x * -1.4426950408889634f));
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(1.0f + e));
  return x * r;
}

// One output (dtype O: int8 or float) from its sum and residual (read when the node has one).
template <typename O>
__device__ __forceinline__ O qconv_fast_output(const QConvInt8Args& a, const QConvChannel& ch, int32_t raw,
                                               float residual) {
  float v = __fmaf_rn(float(raw), ch.scale, ch.bias);
  if (a.silu) v = silu_fast(v);
  if (a.residual) v += residual;
  if constexpr (std::is_same_v<O, int8_t>) {
    int q;
    asm("cvt.rni.sat.s8.f32 %0, %1;" : "=r"(q) : "f"(__fmaf_rn(v, a.y_inv_scale, float(a.y_zero_point))));
    return int8_t(q);
  } else {
    return from_float<O>(v);
  }
}

// Output element (pixel, k) of the NHWC output as a float, from its channel's exact
// accumulator: scale, bias, SiLU, residual (read here, when the node has one), in the CPU's
// steps.
template <typename T>
__device__ __forceinline__ float qconv_epilogue(const QConvInt8Args& a, int64_t pixel, int64_t k, int32_t acc) {
  float v = ir::qconv::dequantize_accumulator(acc, a.scale[k], a.bias[k]);
  if (a.silu) v = ir::qconv::silu(v);
  if (a.residual) v += to_float(static_cast<const T*>(a.residual)[pixel * a.residual_pixel_stride + k]);
  return v;
}

// An output value in the output's dtype O: int8 (requantized) or the float dtype.
template <typename O>
__device__ __forceinline__ O qconv_output(const QConvInt8Args& a, float v) {
  if constexpr (std::is_same_v<O, int8_t>)
    return ir::qconv::requantize_by_reciprocal(v, a.y_scale, a.y_inv_scale, a.y_zero_point);
  else return from_float<O>(v);
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
Status launch_qconv_int8_pixel(const QConvInt8Args& a, cudaStream_t stream);
Status launch_qconv_int8_mma(const QConvInt8Args& a, cudaStream_t stream);

}  // namespace kiln::cuda
