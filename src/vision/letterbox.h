// Ultralytics' LetterBox(auto=False, scale_fill=False, scaleup=True, center=True): scale
// the image to fit the model input keeping its aspect ratio, pad the rest with gray 114.
#pragma once

#include <vector>

#include "vision/image_io.h"

namespace kiln::vision {

inline constexpr uint8_t kLetterboxPadValue = 114;

struct Letterboxed {
  Image image;          // target_width x target_height, BGR
  double ratio = 1.0;   // r = min(H/h, W/w)
  int resized_width = 0, resized_height = 0;  // (round(w*r), round(h*r)), Python rounding
  int pad_left = 0, pad_top = 0;              // round(dw - 0.1), round(dh - 0.1)
};

// auto=False: the output is exactly target_height x target_width (static-shape models).
Letterboxed letterbox(const Image& image, int target_height, int target_width);

// auto=True, what Ultralytics uses for PyTorch and dynamic-shape models: same scale as
// above, but the padding is only what makes each side a multiple of `stride`
// (810x1080 at 640 -> 640x480 instead of 640x640).
Letterboxed letterbox_min_pad(const Image& image, int target_height, int target_width, int stride);

// BGR HWC uint8 -> RGB NCHW float32 in [0, 1] (x / 255.f), batch of one.
std::vector<float> to_nchw_rgb(const Image& image);

// The input size a dynamic model gets for --imgsz: rounded up to a multiple of stride,
// as Ultralytics' check_imgsz does.
int round_up_to_stride(int size, int stride);

}  // namespace kiln::vision
