#include "vision/letterbox.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "vision/resize.h"

namespace kiln::vision {

namespace {
// Python's round(): half to even, which std::nearbyint gives in the default FP mode.
int py_round(double v) { return static_cast<int>(std::nearbyint(v)); }

// Scales by r = min(H/h, W/w) and centers the result in an out_width x out_height canvas.
Letterboxed place(const Image& image, double r, int out_height, int out_width) {
  Letterboxed out;
  out.ratio = r;
  out.resized_width = py_round(image.width * r);
  out.resized_height = py_round(image.height * r);
  const double dw = (out_width - out.resized_width) / 2.0;
  const double dh = (out_height - out.resized_height) / 2.0;
  out.pad_top = py_round(dh - 0.1);
  out.pad_left = py_round(dw - 0.1);

  Image resized = resize_linear(image, out.resized_width, out.resized_height);
  out.image = Image(out_width, out_height, kLetterboxPadValue);
  const size_t row_bytes = static_cast<size_t>(resized.width) * 3;
  for (int y = 0; y < resized.height; ++y)
    std::memcpy(out.image.row(y + out.pad_top) + static_cast<size_t>(out.pad_left) * 3, resized.row(y), row_bytes);
  return out;
}

double fit_ratio(const Image& image, int target_height, int target_width) {
  return std::min(static_cast<double>(target_height) / image.height, static_cast<double>(target_width) / image.width);
}

}  // namespace

Letterboxed letterbox(const Image& image, int target_height, int target_width) {
  return place(image, fit_ratio(image, target_height, target_width), target_height, target_width);
}

Letterboxed letterbox_min_pad(const Image& image, int target_height, int target_width, int stride) {
  const double r = fit_ratio(image, target_height, target_width);
  const int w = py_round(image.width * r), h = py_round(image.height * r);
  // np.mod(dw, stride): the padding left after the largest whole number of strides.
  return place(image, r, h + (target_height - h) % stride, w + (target_width - w) % stride);
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
