// cv2.resize(..., interpolation=cv2.INTER_LINEAR) for 3-channel uint8 images, reproduced
// bit for bit so that kiln's letterbox feeds a model exactly what Ultralytics feeds it.
#pragma once

#include "vision/image_io.h"

namespace kiln::vision {

// Resizes `src` to dst_width x dst_height the way OpenCV does on x86 (checked pixel for
// pixel against opencv-python 5.0; IPP is not used for 8-bit linear): an exact 2x
// downscale is a 2x2 box average; everything else is the fixed-point separable bilinear
// filter with 11-bit coefficients.
Image resize_linear(const Image& src, int dst_width, int dst_height);

}  // namespace kiln::vision
