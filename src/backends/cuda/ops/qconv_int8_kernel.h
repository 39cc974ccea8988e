// The CUDA kernels of QConvInt8 (ir/qconv_int8.h): an exact int8 convolution on NHWC
// activations, the epilogue of qconv_int8.h applied to each int32 accumulator in the same
// float steps as the CPU kernel.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "backends/cuda/kernels.h"
#include "backends/cuda/ops/conv_mma.h"
#include "ir/dtype.h"
#include "kiln/status.h"

namespace kiln::cuda {

// The kernel that runs one QConvInt8, chosen per shape at plan time (choose_qconv_int8_kernel).
enum class QConvInt8Kernel {
  kDirect,     // one thread per output element: any shape
  kDepthwise,  // groups == channels == outputs, channels a multiple of 4: 4 or 16 channels per thread
  kDp4aTiled,  // implicit GEMM, 64 pixels x 64 output channels per block, dp4a
  kPixel,      // groups 1, 8 or 16 -> 8 or 16 channels: all of a pixel's outputs per thread, dp4a
  // Implicit GEMM on tensor cores (mma.sync s8, compute capability 8.0 and later) with the
  // block tile QConvInt8Args::tile (choose_mma_tile).
  kMma,
};

struct QConvInt8Args {
  ConvShape s{};
  QConvInt8Kernel kernel = QConvInt8Kernel::kDirect;
  MmaTile tile = MmaTile::k64x64;  // kMma: pixels x output channels per block
  const int8_t* x = nullptr;         // NHWC int8, packed
  int32_t x_zero_point = 0;
  const int8_t* w = nullptr;         // [K][R][S][C/groups] int8; kDepthwise: [R][S][K]
  const int32_t* w_sum = nullptr;    // per output channel: the sum of its weights
  const float* scale = nullptr;      // per output channel: accumulator_scale(x_scale, w_scale[k])
  const float* bias = nullptr;       // per output channel (zeros when the node has none)
  const float* raw_bias = nullptr;   // per output channel: bias - scale * x_zero_point * sum(w),
                                     // the bias of a raw sum whose padding taps read the zero point
  bool silu = false;
  const void* residual = nullptr;    // NHWC in `float_type`, or null
  int64_t residual_pixel_stride = 0; // elements from one residual pixel to the next: k, or more
                                     // in a channel view
  ir::DType float_type = ir::DType::kFloat32;  // the residual's and a float output's dtype
  bool int8_output = false;          // requantize with y_scale / y_zero_point
  float y_scale = 1.f;
  float y_inv_scale = 1.f;           // 1 / y_scale: requantize_by_reciprocal, qconv_fast_output
  int32_t y_zero_point = 0;
  void* y = nullptr;                 // NHWC: int8, or `float_type`
  int64_t y_pixel_stride = 0;        // elements from one output pixel to the next: k, or more
                                     // in a Concat buffer (float outputs only)
};

// The fastest kernel that fits the shape; tensor_cores: the GPU runs the kMma kernel.
QConvInt8Kernel choose_qconv_int8_kernel(const ConvShape& s, bool tensor_cores);
// Whether the kPixel kernel takes the shape (qconv_int8_pixel.cu).
bool qconv_int8_pixel_fits(const ConvShape& s);

// The tactic name a's kernel (and tile) reports in profiles and the engine metadata:
// "int8_direct", ..., "int8_mma_128x64".
std::string qconv_int8_tactic(const QConvInt8Args& a);

// Runs a.kernel.
Status launch_qconv_int8(const QConvInt8Args& a, cudaStream_t stream);

}  // namespace kiln::cuda
