// The classifier input on the GPU: vision::classify_crop (PIL bilinear resize of the
// short side to `size`, antialiased, 22-bit fixed point, then the centered square) fused
// with to_nchw_rgb, written into the engine's FP32 NCHW input. Only the crop's columns
// and rows are computed; the arithmetic is Pillow's, as the CPU code reproduces it.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/status.h"

namespace kiln::vision_cuda {

struct CropLayout {
  int src_width = 0, src_height = 0;
  int resized_width = 0, resized_height = 0;
  int size = 0;           // the square crop (the model input)
  int left = 0, top = 0;  // the crop's corner in the resized image
};

CropLayout classify_crop_layout(int src_width, int src_height, int size);

// Bytes of device scratch classify_crop needs (the horizontally resized rows).
size_t classify_crop_scratch_bytes(const CropLayout& layout);

// `src`: the image on the device, HWC uint8 BGR (RGB when `rgb`); `dst`: [3, size, size].
Status classify_crop(const uint8_t* src, bool rgb, const CropLayout& layout, uint8_t* scratch, float* dst,
                     cudaStream_t stream);

}  // namespace kiln::vision_cuda
