// A frame's pixels as packed BGR rows, converted on its GPU: NV12 per pixel as vision/nv12.h
// converts it (so equal to the CPU's conversion), RGB swapped, BGR copied. What a video loop
// draws on or crops from the host, taken from a decoder's device frame without converting
// on the CPU.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/status.h"
#include "vision_cuda/letterbox_gpu.h"

namespace kiln::vision_cuda {

// `dst`: height rows of width * 3 bytes, packed, in device memory.
Status to_bgr(const SourceImage& src, int width, int height, uint8_t* dst, cudaStream_t stream);

}  // namespace kiln::vision_cuda
