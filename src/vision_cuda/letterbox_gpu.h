// The model input on the GPU: vision::letterbox / letterbox_min_pad (OpenCV's fixed-point
// INTER_LINEAR, gray 114 padding, centered) fused with to_nchw_rgb (/255, RGB planes),
// written straight into the engine's FP32 NCHW input, from packed BGR / RGB or NV12 with
// any pitch. Bit-identical to the CPU path.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/frame.h"
#include "kiln/status.h"

namespace kiln::vision_cuda {

struct LetterboxLayout {
  int src_width = 0, src_height = 0;
  int width = 0, height = 0;                  // the model input
  int resized_width = 0, resized_height = 0;  // the scaled image inside it
  int pad_left = 0, pad_top = 0;
};

// stride 0: the square (target-sized) letterbox of static models; stride > 0: minimal
// padding to a multiple of stride (dynamic models), as vision::letterbox_min_pad.
LetterboxLayout letterbox_layout(int src_width, int src_height, int target_height, int target_width, int stride);

// An image in device memory: packed 8-bit BGR / RGB rows (planes[0]) or NV12's luma and
// interleaved chroma planes, each row `pitch` bytes after the previous one.
struct SourceImage {
  const uint8_t* planes[2] = {nullptr, nullptr};
  size_t pitch[2] = {0, 0};
  PixelFormat format = PixelFormat::kBgr;
};

// `dst`: one image's [3, height, width] planes. NV12 sources are converted per sample
// with vision/nv12.h, so the result equals the CPU's conversion followed by its letterbox.
Status letterbox(const SourceImage& src, const LetterboxLayout& layout, float* dst, cudaStream_t stream);

}  // namespace kiln::vision_cuda
