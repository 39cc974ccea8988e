// Our tensor-core convolutions, implicit GEMMs (implicit_gemm_mma.cuh) on GPUs of compute
// capability 8.0 and later: their tile shapes, and the FP16 conv that an engine planned
// without runtime-compiled kernels runs (conv_mma.cu). QConvInt8 runs the int8 one
// (qconv_int8_kernel.h).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels.h"
#include "kiln/status.h"

namespace kiln::cuda {

// Whether the current GPU runs them (mma.sync and cp.async: compute capability 8.0+).
bool mma_kernels_available();

// A block's tile: pixels x output channels.
enum class MmaTile { k128x64, k64x64, k128x32, k128x16 };
// From this many 128 x 64 blocks on, 128 x 64 rather than 64 x 64.
inline constexpr int64_t kMma128x64MinBlocks = 512;
// The narrowest channel tile that a group's output channels fill; 128 x 64 where that still
// gives every SM several blocks.
inline MmaTile choose_mma_tile(const ConvShape& s) {
  const int64_t kg = s.k / s.groups, pixels = s.n * s.oh * s.ow;
  if (kg <= 16) return MmaTile::k128x16;
  if (kg <= 32) return MmaTile::k128x32;
  const int64_t blocks = (pixels + 127) / 128 * ((kg + 63) / 64) * s.groups;
  return blocks >= kMma128x64MinBlocks ? MmaTile::k128x64 : MmaTile::k64x64;
}

// The FP16 conv: packed NHWC half input, KRSC half weights, FP32 accumulation, FP32 bias and
// `act` applied, NHWC half output (pixel stride k). Its arithmetic is cuDNN's FP16 conv's
// (products of halves summed in FP32), in another order.
struct ConvMmaArgs {
  ConvShape s{};
  MmaTile tile = MmaTile::k64x64;
  const void* x = nullptr;
  const void* w = nullptr;
  const float* bias = nullptr;  // per output channel
  ConvAct act = ConvAct::kNone;
  void* y = nullptr;
};
// Fits: a group's channels a whole number of half pairs (the GEMM reads 4-byte words),
// dilation and stride positive.
bool conv_mma_fp16_fits(const ConvShape& s);
Status launch_conv_mma_fp16(const ConvMmaArgs& a, cudaStream_t stream);
// "128x64", ...: a tile in the tactic names of the kernels that use it.
const char* mma_tile_name(MmaTile tile);

}  // namespace kiln::cuda
