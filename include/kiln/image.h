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

// Pixels the caller owns, for Model::predict without a copy into an Image: HWC uint8,
// 3 channels, BGR (or RGB when `rgb`), rows packed (width * 3 bytes).
struct ImageView {
  int width = 0;
  int height = 0;
  const uint8_t* pixels = nullptr;
  bool rgb = false;
};

inline ImageView view_of(const Image& image) { return {image.width, image.height, image.pixels.data(), false}; }

// An image in page-locked host memory when this kiln has CUDA and a GPU is usable (plain
// memory otherwise): a GPU predict copies it to the device by DMA, with no staging copy,
// so a decoder that writes here feeds the GPU directly. Move-only.
class PinnedImage {
 public:
  static Result<PinnedImage> allocate(int width, int height);
  PinnedImage(PinnedImage&& other) noexcept;
  PinnedImage& operator=(PinnedImage&& other) noexcept;
  PinnedImage(const PinnedImage&) = delete;
  PinnedImage& operator=(const PinnedImage&) = delete;
  ~PinnedImage();

  int width() const { return width_; }
  int height() const { return height_; }
  uint8_t* data() { return data_; }  // height * width * 3 bytes
  const uint8_t* data() const { return data_; }
  bool pinned() const { return pinned_; }
  ImageView view(bool rgb = false) const { return {width_, height_, data_, rgb}; }

 private:
  PinnedImage() = default;
  void release();
  int width_ = 0, height_ = 0;
  uint8_t* data_ = nullptr;
  bool pinned_ = false;
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
