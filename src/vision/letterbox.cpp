#include "vision/letterbox.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "vision/resize.h"

namespace kiln::vision {

namespace {
// Python's round(): half to even, which std::nearbyint gives in the default FP mode.
int py_round(double v) { return static_cast<int>(std::nearbyint(v)); }
}  // namespace

Letterboxed letterbox(const Image& image, int target_height, int target_width) {
  Letterboxed out;
  const double r = std::min(static_cast<double>(target_height) / image.height,
                            static_cast<double>(target_width) / image.width);
  out.ratio = r;
  out.resized_width = py_round(image.width * r);
  out.resized_height = py_round(image.height * r);
  const double dw = (target_width - out.resized_width) / 2.0;
  const double dh = (target_height - out.resized_height) / 2.0;
  out.pad_top = py_round(dh - 0.1);
  out.pad_left = py_round(dw - 0.1);

  Image resized = resize_linear(image, out.resized_width, out.resized_height);
  out.image = Image(target_width, target_height, kLetterboxPadValue);
  const size_t row_bytes = static_cast<size_t>(resized.width) * 3;
  for (int y = 0; y < resized.height; ++y)
    std::memcpy(out.image.row(y + out.pad_top) + static_cast<size_t>(out.pad_left) * 3, resized.row(y), row_bytes);
  return out;
}

std::vector<float> to_nchw_rgb(const Image& image) {
  const size_t plane = static_cast<size_t>(image.width) * image.height;
  std::vector<float> out(plane * 3);
  for (size_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c)
      out[static_cast<size_t>(2 - c) * plane + i] = static_cast<float>(image.pixels[3 * i + c]) / 255.f;
  return out;
}

int round_up_to_stride(int size, int stride) {
  return (size + stride - 1) / stride * stride;
}

}  // namespace kiln::vision
