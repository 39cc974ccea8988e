#include "vision/frame_convert.h"

#include <cstring>
#include <utility>

#include "vision/nv12.h"

namespace kiln::vision {

Image packed_to_bgr(const uint8_t* pixels, size_t pitch, int width, int height, bool rgb) {
  Image out(width, height);
  const size_t row = static_cast<size_t>(width) * 3;
  for (int y = 0; y < height; ++y) {
    uint8_t* dst = out.row(y);
    std::memcpy(dst, pixels + static_cast<size_t>(y) * pitch, row);
    if (rgb)
      for (size_t i = 0; i < row; i += 3) std::swap(dst[i], dst[i + 2]);
  }
  return out;
}

Image nv12_to_bgr(const uint8_t* luma, size_t luma_pitch, const uint8_t* chroma, size_t chroma_pitch, int width,
                  int height) {
  Image out(width, height);
#pragma omp parallel for schedule(static) if (static_cast<size_t>(width) * height >= (1u << 18))
  for (int y = 0; y < height; ++y) {
    uint8_t* dst = out.row(y);
    for (int x = 0; x < width; ++x) nv12::pixel_bgr(luma, luma_pitch, chroma, chroma_pitch, x, y, dst + 3 * x);
  }
  return out;
}

}  // namespace kiln::vision
