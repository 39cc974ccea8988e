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

Letterboxed letterbox(const Image& image, int target_height, int target_width);

// BGR HWC uint8 -> RGB NCHW float32 in [0, 1] (x / 255.f), batch of one.
std::vector<float> to_nchw_rgb(const Image& image);

// The input size a dynamic model gets for --imgsz: rounded up to a multiple of stride,
// as Ultralytics' check_imgsz does.
int round_up_to_stride(int size, int stride);

}  // namespace kiln::vision
