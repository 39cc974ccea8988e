// The model input on the GPU: vision::letterbox / letterbox_min_pad (OpenCV's fixed-point
// INTER_LINEAR, gray 114 padding, centered) fused with to_nchw_rgb (/255, RGB planes),
// written straight into the engine's FP32 NCHW input, from packed BGR / RGB or NV12 with
// any pitch. Bit-identical to the CPU path. The same sampling fits many regions of one
// frame into consecutive inputs in one launch (fit_crops: a pipeline stage's crops, as
// vision::fit_crop fits them).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <span>

#include "kiln/frame.h"
#include "kiln/status.h"
#include "vision/crop.h"

namespace kiln::vision_cuda {

// A region of the source scaled to resized_width x resized_height (each axis by its own
// factor) and placed at (pad_left, pad_top) of a width x height input, 114 around it.
struct LetterboxLayout {
  int src_x = 0, src_y = 0;           // the region's corner in the source (0, 0: the whole image)
  int src_width = 0, src_height = 0;  // the region's size
  int width = 0, height = 0;                  // the model input
  int resized_width = 0, resized_height = 0;  // the scaled image inside it
  int pad_left = 0, pad_top = 0;
};

// stride 0: the square (target-sized) letterbox of static models; stride > 0: minimal
// padding to a multiple of stride (dynamic models), as vision::letterbox_min_pad.
LetterboxLayout letterbox_layout(int src_width, int src_height, int target_height, int target_width, int stride);

// A crop placement's layout: kLetterbox as vision::letterbox places the region, kResize
// stretched over the whole input (vision::fit_crop's two fits).
LetterboxLayout crop_layout(const vision::CropPlacement& placement);

// An image in device memory: packed 8-bit BGR / RGB rows (planes[0]) or NV12's luma and
// interleaved chroma planes, each row `pitch` bytes after the previous one.
struct SourceImage {
  const uint8_t* planes[2] = {nullptr, nullptr};
  size_t pitch[2] = {0, 0};
  PixelFormat format = PixelFormat::kBgr;
};

// What an input value is made of a pixel's 8-bit R, G or B value v: v / 255 (YOLO
// models), then with `standardize` (v / 255 - mean[c]) / std[c] per RGB channel (ImageNet
// normalisation of ReID models), each step rounded as the CPU rounds it.
struct InputScaling {
  bool standardize = false;
  float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
};

// `dst`: one image's [3, height, width] planes. NV12 sources are converted per sample
// with vision/nv12.h, so the result equals the CPU's conversion followed by its letterbox.
Status letterbox(const SourceImage& src, const LetterboxLayout& layout, float* dst, cudaStream_t stream);

// One launch for every layout: layout i (all of one input size) into dst's [3, height,
// width] planes number i. Equals vision::fit_crop + the scaling of each crop, value for
// value. The layouts travel in the launches' parameters (32 crops a launch).
Status fit_crops(const SourceImage& src, std::span<const LetterboxLayout> layouts, const InputScaling& scaling,
                 float* dst, cudaStream_t stream);

}  // namespace kiln::vision_cuda
