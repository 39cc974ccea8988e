// QConvInt8, kiln's integer convolution (made by passes/lower_qdq from DequantizeLinear ->
// Conv (+SiLU) (+Add) [-> QuantizeLinear]): its input slots and the one epilogue every backend
// applies to the exact int32 accumulator, written once here so that CPU and CUDA kernels
// compute the same float steps (this header compiles as CUDA device code too; the CUDA
// tensor-core kernel takes them in fewer instructions, each output within one quantization
// step of these: backends/cuda/ops/qconv_int8_device.cuh).
//
//   acc[n,c,p] = sum over the window of (x_q - x_zero_point) * w_q   (int8 x int8, exact)
//   y = float(acc) * (x_scale * w_scale[c]) + bias[c]
//   y = SiLU(y)                           when attribute activation = "SiLU"
//   y = y + residual[n,c,p]               when the residual input is present
//   output float y, or, when y_scale is present,
//   int8 saturate(round_half_to_even(y / y_scale) + y_zero_point)
//
// Attributes: Conv's (kernel_shape, strides, pads, dilations, group) and activation.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define KILN_QCONV_HD __host__ __device__ __forceinline__
#else
#define KILN_QCONV_HD inline
#endif

namespace kiln::ir::qconv {

inline constexpr const char* kOpType = "QConvInt8";

// Input slots; 5-8 are optional (absent: no bias, no residual, float output).
enum Input : size_t {
  kX = 0,            // int8 [N,C,H,W]
  kXScale = 1,       // float scalar
  kXZeroPoint = 2,   // int8 scalar
  kW = 3,            // int8 [M,C/group,kH,kW], constant
  kWScale = 4,       // float [M] or scalar, constant
  kBias = 5,         // float [M], constant
  kResidual = 6,     // float, the output's shape
  kYScale = 7,       // float scalar, constant: the output is int8
  kYZeroPoint = 8,   // int8 scalar, constant (with kYScale)
  kInputCount = 9,
};

inline constexpr const char* kActivationAttr = "activation";
inline constexpr const char* kSiLU = "SiLU";

// x_scale * w_scale[c], the factor of channel c's accumulator.
KILN_QCONV_HD float accumulator_scale(float x_scale, float w_scale) { return x_scale * w_scale; }

KILN_QCONV_HD float dequantize_accumulator(int32_t acc, float scale, float bias) {
  return static_cast<float>(acc) * scale + bias;
}

KILN_QCONV_HD float silu(float y) { return y / (1.0f + expf(-y)); }

// Round half to even (the default rounding mode), then saturate to int8.
KILN_QCONV_HD int8_t saturate_int8(float rounded, int32_t y_zero_point) {
  float v = rounded + static_cast<float>(y_zero_point);
  v = v < -128.0f ? -128.0f : (v > 127.0f ? 127.0f : v);
  return static_cast<int8_t>(v);
}
KILN_QCONV_HD int8_t requantize(float y, float y_scale, int32_t y_zero_point) {
  return saturate_int8(nearbyintf(y / y_scale), y_zero_point);
}

// requantize's result with a product instead of the division where the two cannot differ:
// inv_y_scale = 1 / y_scale in float, so y * inv_y_scale lies within 3 * 2^-24 |y / y_scale|
// of the rounded quotient, under 2^-11 while |y / y_scale| < 2^10; a product farther than
// 2^-11 from a rounding tie then rounds as the quotient, one nearer takes the division. From
// 2^10 on, both saturate whatever the zero point.
KILN_QCONV_HD bool near_rounding_tie(float q, float rounded) { return fabsf(q - rounded) > 0.5f - 0x1p-11f; }
KILN_QCONV_HD int8_t requantize_by_reciprocal(float y, float y_scale, float inv_y_scale, int32_t y_zero_point) {
  const float q = y * inv_y_scale, rounded = nearbyintf(q);
  if (near_rounding_tie(q, rounded)) return requantize(y, y_scale, y_zero_point);
  return saturate_int8(rounded, y_zero_point);
}

}  // namespace kiln::ir::qconv
