// Image decoding and encoding. Pixels follow OpenCV's conventions (3-channel uint8, HWC,
// BGR order) so that a decoded image is byte-identical to cv2.imread's, which is what
// Ultralytics feeds its letterbox.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln::vision {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // height * width * 3, row-major, BGR

  Image() = default;
  Image(int w, int h, uint8_t fill = 0)
      : width(w), height(h), pixels(static_cast<size_t>(w) * h * 3, fill) {}
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * width * 3; }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * width * 3; }
};

// Largest image decode_image accepts, in pixels (e.g. 16384 x 16384), for every format; a
// header claiming more is refused before any pixel memory is allocated.
inline constexpr uint64_t kMaxImagePixels = uint64_t{1} << 28;

// True for the file extensions decode_image understands (jpg, jpeg, png, bmp; any case).
bool has_image_extension(const std::filesystem::path& path);

// JPEG through libjpeg (ISLOW DCT, fancy upsampling, EXIF orientation applied: cv2.imread's
// settings), PNG and BMP through stb_image. Missing file: NotFound; anything undecodable:
// Corrupt "<file>: not a decodable image (<reason>)"; more than kMaxImagePixels:
// InvalidArgument.
Result<Image> decode_image(const std::filesystem::path& path);
Result<Image> decode_image_bytes(std::span<const uint8_t> bytes, const std::string& display_name);

// The width and height decode_image would give (EXIF orientation applied), from the header
// alone: no pixel is decoded. Errors as decode_image's for a missing file, an unknown format,
// a bad header or too many pixels; damage after the header is found only by decode_image.
struct ImageSize {
  int width = 0;
  int height = 0;
};
Result<ImageSize> read_image_size(const std::filesystem::path& path);

// Writes a baseline JPEG (quality 0-100) atomically.
Status save_jpeg(const std::filesystem::path& path, const Image& image, int quality = 90);

}  // namespace kiln::vision
