#include "vision/exif_orientation.h"

#include <algorithm>
#include <cstring>

namespace kiln::vision {
namespace {

// Bounds-checked TIFF reads in the file's byte order.
struct TiffReader {
  std::span<const uint8_t> tiff;
  bool big_endian = false;

  bool has(size_t offset, size_t n) const { return offset <= tiff.size() && n <= tiff.size() - offset; }
  uint32_t u16(size_t o) const {
    return big_endian ? (tiff[o] << 8) | tiff[o + 1] : tiff[o] | (tiff[o + 1] << 8);
  }
  uint32_t u32(size_t o) const {
    return big_endian ? (u16(o) << 16) | u16(o + 2) : u16(o) | (u16(o + 2) << 16);
  }
};

void flip(Image& img, bool horizontal, bool vertical) {
  const int w = img.width, h = img.height;
  if (vertical)
    for (int y = 0; y < h / 2; ++y) std::swap_ranges(img.row(y), img.row(y) + 3 * w, img.row(h - 1 - y));
  if (horizontal)
    for (int y = 0; y < h; ++y) {
      uint8_t* r = img.row(y);
      for (int x = 0; x < w / 2; ++x) std::swap_ranges(r + 3 * x, r + 3 * x + 3, r + 3 * (w - 1 - x));
    }
}

Image transposed(const Image& img) {
  Image out(img.height, img.width);
  for (int y = 0; y < img.height; ++y) {
    const uint8_t* src = img.row(y);
    for (int x = 0; x < img.width; ++x) std::memcpy(out.row(x) + 3 * y, src + 3 * x, 3);
  }
  return out;
}

}  // namespace

int exif_orientation(std::span<const uint8_t> app1) {
  static constexpr uint8_t kExif[6] = {'E', 'x', 'i', 'f', 0, 0};
  if (app1.size() < 6 || std::memcmp(app1.data(), kExif, 6) != 0) return 1;
  TiffReader r{app1.subspan(6)};
  if (!r.has(0, 8)) return 1;
  if (r.tiff[0] == 'M' && r.tiff[1] == 'M') r.big_endian = true;
  else if (r.tiff[0] != 'I' || r.tiff[1] != 'I') return 1;
  if (r.u16(2) != 42) return 1;
  const size_t ifd = r.u32(4);
  if (!r.has(ifd, 2)) return 1;
  const uint32_t entries = r.u16(ifd);
  for (uint32_t i = 0; i < entries; ++i) {
    const size_t e = ifd + 2 + 12 * static_cast<size_t>(i);
    if (!r.has(e, 12)) return 1;
    if (r.u16(e) != 0x0112) continue;
    const uint32_t value = r.u16(e + 2) == 3 ? r.u16(e + 8) : 1;  // type SHORT, value inline
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

void apply_exif_orientation(Image& image, int orientation) {
  switch (orientation) {
    case 2: flip(image, true, false); break;
    case 3: flip(image, true, true); break;
    case 4: flip(image, false, true); break;
    case 5: image = transposed(image); break;
    case 6: image = transposed(image); flip(image, true, false); break;
    case 7: image = transposed(image); flip(image, true, true); break;
    case 8: image = transposed(image); flip(image, false, true); break;
    default: break;
  }
}

}  // namespace kiln::vision
