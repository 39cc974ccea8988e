// Frames for the frame tests: an Image as NV12 (BT.601 limited range, the inverse of
// vision/nv12.h: Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255, U and V from the 2x2
// block's mean colour), and as packed rows padded to a longer pitch.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kiln/frame.h"
#include "kiln/image.h"

namespace kiln::test {

struct Nv12 {
  int width = 0, height = 0;
  std::vector<uint8_t> luma, chroma;  // packed: pitch = width for both planes
  Frame frame() const {
    Frame f;
    f.width = width, f.height = height, f.format = PixelFormat::kNv12;
    f.planes[0] = luma.data(), f.planes[1] = chroma.data();
    f.pitch[0] = f.pitch[1] = static_cast<size_t>(width);
    return f;
  }
};

// `image` cropped to even sizes, as NV12.
inline Nv12 to_nv12(const Image& image) {
  Nv12 out;
  out.width = image.width & ~1, out.height = image.height & ~1;
  out.luma.resize(static_cast<size_t>(out.width) * out.height);
  out.chroma.resize(out.luma.size() / 2);
  auto u8 = [](double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); };
  auto px = [&](int x, int y, int c) { return static_cast<double>(image.pixels[(static_cast<size_t>(y) * image.width + x) * 3 + c]); };
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      out.luma[static_cast<size_t>(y) * out.width + x] =
          u8(16 + (65.481 * px(x, y, 2) + 128.553 * px(x, y, 1) + 24.966 * px(x, y, 0)) / 255);
  for (int y = 0; y < out.height; y += 2)
    for (int x = 0; x < out.width; x += 2) {
      double b = 0, g = 0, r = 0;
      for (int k = 0; k < 4; ++k) b += px(x + k % 2, y + k / 2, 0) / 4, g += px(x + k % 2, y + k / 2, 1) / 4, r += px(x + k % 2, y + k / 2, 2) / 4;
      uint8_t* uv = &out.chroma[static_cast<size_t>(y / 2) * out.width + x];
      uv[0] = u8(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255);
      uv[1] = u8(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255);
    }
  return out;
}

// The image's rows `pad` bytes apart beyond their width * 3 (filled with 0xAB, which a
// kernel ignoring the pitch would read).
inline std::vector<uint8_t> padded_rows(const Image& image, size_t pad) {
  const size_t row = static_cast<size_t>(image.width) * 3;
  std::vector<uint8_t> out((row + pad) * image.height, 0xAB);
  for (int y = 0; y < image.height; ++y)
    std::copy_n(image.pixels.data() + y * row, row, out.data() + y * (row + pad));
  return out;
}

}  // namespace kiln::test
