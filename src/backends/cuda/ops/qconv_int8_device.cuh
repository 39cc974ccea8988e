// Device code shared by the QConvInt8 kernel files (qconv_int8_*.cu): the fused epilogue and
// the launchers of the kernels that live in their own files.
#pragma once

#include <type_traits>

#include "backends/cuda/device_util.cuh"
#include "backends/cuda/ops/qconv_int8_kernel.h"
#include "ir/qconv_int8.h"

namespace kiln::cuda {

// Output element k (of any pixel) as a float, from its exact accumulator and, when the node
// has one, the pixel's residual element: scale, bias, SiLU, residual.
__device__ __forceinline__ float qconv_epilogue(const QConvInt8Args& a, int64_t k, int32_t acc, float residual) {
  float v = ir::qconv::dequantize_accumulator(acc, a.scale[k], a.bias[k]);
  if (a.silu) v = ir::qconv::silu(v);
  if (a.residual) v += residual;
  return v;
}

// Output element (pixel, k) of the NHWC output as a float, the residual read here.
template <typename T>
__device__ __forceinline__ float qconv_epilogue(const QConvInt8Args& a, int64_t pixel, int64_t k, int32_t acc) {
  return qconv_epilogue(a, k, acc, a.residual ? to_float(static_cast<const T*>(a.residual)[pixel * a.s.k + k]) : 0.f);
}

// An output value in the output's dtype O: int8 (requantized) or the float dtype.
template <typename O>
__device__ __forceinline__ O qconv_output(const QConvInt8Args& a, float v) {
  if constexpr (std::is_same_v<O, int8_t>) return ir::qconv::requantize(v, a.y_scale, a.y_zero_point);
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
Status launch_qconv_int8_mma(const QConvInt8Args& a, cudaStream_t stream);

}  // namespace kiln::cuda
