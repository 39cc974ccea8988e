// The CUDA kernels of QConvInt8 (ir/qconv_int8.h): an exact int8 convolution on NHWC
// activations and KRSC weights, the epilogue of qconv_int8.h applied to each int32
// accumulator in the same float steps as the CPU kernel.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels.h"
#include "ir/dtype.h"
#include "kiln/status.h"

namespace kiln::cuda {

struct QConvInt8Args {
  ConvShape s{};
  const int8_t* x = nullptr;         // NHWC int8, packed
  int32_t x_zero_point = 0;
  const int8_t* w = nullptr;         // [K][R][S][C/groups] int8
  const int32_t* w_sum = nullptr;    // per output channel: the sum of its weights
  const float* scale = nullptr;      // per output channel: accumulator_scale(x_scale, w_scale[k])
  const float* bias = nullptr;       // per output channel (zeros when the node has none)
  bool silu = false;
  const void* residual = nullptr;    // NHWC packed in `float_type`, or null
  ir::DType float_type = ir::DType::kFloat32;  // the residual's and a float output's dtype
  bool int8_output = false;          // requantize with y_scale / y_zero_point
  float y_scale = 1.f;
  int32_t y_zero_point = 0;
  void* y = nullptr;                 // NHWC packed: int8, or `float_type`
  bool tensor_cores = false;         // tiled kernel on mma.sync (compute capability 8.0+), else dp4a
};

// Whether the current GPU runs the tiled kernel's tensor-core (mma.sync s8) form.
bool qconv_int8_tensor_cores_available();

// The tiled dp4a kernel needs whole 4-byte words of input channels per group.
inline bool qconv_int8_tiled_fits(const ConvShape& s) { return (s.c / s.groups) % 4 == 0; }

// Tiled (64 pixels x 64 output channels per block, 32 input channels per stage on tensor
// cores or 4 at a time by dp4a) when qconv_int8_tiled_fits, else one thread per output
// element (depthwise convs).
Status launch_qconv_int8(const QConvInt8Args& a, cudaStream_t stream);

}  // namespace kiln::cuda
