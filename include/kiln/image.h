// Images as the kiln API takes them: 8-bit, 3 channels, HWC, BGR (OpenCV's convention, so
// a cv::Mat's bytes can be copied in as they are), plus decoding and JPEG writing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // height * width * 3, row-major, BGR

  Image() = default;
  Image(int w, int h, uint8_t fill = 0) : width(w), height(h), pixels(static_cast<size_t>(w) * h * 3, fill) {}
};

// JPEG, PNG or BMP, decoded exactly as cv2.imread does. Missing file: NotFound;
// undecodable: Corrupt "<file>: not a decodable image (<reason>)".
Result<Image> load_image(const std::filesystem::path& path);
Result<Image> decode_image(std::span<const uint8_t> bytes, const std::string& display_name);

// True for the extensions load_image understands (jpg, jpeg, png, bmp; any case).
bool is_image_file(const std::filesystem::path& path);

// Writes a baseline JPEG (quality 0-100) atomically.
Status save_jpeg(const std::filesystem::path& path, const Image& image, int quality = 90);

}  // namespace kiln
