#include "api/image_convert.h"

#include <algorithm>
#include <utility>

#include "vision/frame_convert.h"

namespace kiln {

namespace api {

vision::Image to_vision(const Image& image) {
  vision::Image v;
  v.width = image.width;
  v.height = image.height;
  v.pixels = image.pixels;
  return v;
}

vision::Image to_vision(const ImageView& image) {
  vision::Image v(image.width, image.height);
  std::copy_n(image.pixels, v.pixels.size(), v.pixels.data());
  if (image.rgb)
    for (size_t i = 0; i < v.pixels.size(); i += 3) std::swap(v.pixels[i], v.pixels[i + 2]);
  return v;
}

Image from_vision(vision::Image&& image) {
  Image out;
  out.width = image.width;
  out.height = image.height;
  out.pixels = std::move(image.pixels);
  return out;
}

Status check_image(const Image& image) {
  if (image.width <= 0 || image.height <= 0)
    return error(StatusCode::kInvalidArgument, "image is empty (", image.width, "x", image.height, ")");
  if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3)
    return error(StatusCode::kInvalidArgument, "image ", image.width, "x", image.height, " has ", image.pixels.size(),
                 " bytes, want width * height * 3 = ", static_cast<size_t>(image.width) * image.height * 3);
  return Status::Ok();
}

Status check_image(const ImageView& image) {
  if (image.width <= 0 || image.height <= 0)
    return error(StatusCode::kInvalidArgument, "image is empty (", image.width, "x", image.height, ")");
  if (!image.pixels) return error(StatusCode::kInvalidArgument, "image ", image.width, "x", image.height, " has no pixels");
  return Status::Ok();
}

Status check_frame(const Frame& f) {
  if (f.width <= 0 || f.height <= 0) return error(StatusCode::kInvalidArgument, "frame is empty (", f.width, "x", f.height, ")");
  const bool nv12 = f.format == PixelFormat::kNv12;
  if (nv12 && (f.width % 2 || f.height % 2))
    return error(StatusCode::kInvalidArgument, "NV12 frame ", f.width, "x", f.height, " has an odd size (4:2:0 needs an even width and height)");
  const size_t row = static_cast<size_t>(f.width) * (nv12 ? 1 : 3);
  for (int p = 0; p < (nv12 ? 2 : 1); ++p) {
    if (!f.planes[p]) return error(StatusCode::kInvalidArgument, "frame ", f.width, "x", f.height, ": plane ", p, " is null");
    if (f.pitch[p] < row)
      return error(StatusCode::kInvalidArgument, "frame ", f.width, "x", f.height, ": plane ", p, " pitch ", f.pitch[p],
                   " is shorter than a row (", row, " bytes)");
  }
  return Status::Ok();
}

vision::Image to_vision(const Frame& f) {
  if (f.format == PixelFormat::kNv12) return vision::nv12_to_bgr(f.planes[0], f.pitch[0], f.planes[1], f.pitch[1], f.width, f.height);
  return vision::packed_to_bgr(f.planes[0], f.pitch[0], f.width, f.height, f.format == PixelFormat::kRgb);
}

}  // namespace api

Result<Image> to_image(const Frame& frame) {
  KILN_RETURN_IF_ERROR(api::check_frame(frame));
  if (frame.memory == FrameMemory::kDevice) return api::device_frame_to_image(frame);
  return api::from_vision(api::to_vision(frame));
}

Result<Image> load_image(const std::filesystem::path& path) {
  KILN_ASSIGN_OR_RETURN(vision::Image image, vision::decode_image(path));
  return api::from_vision(std::move(image));
}

Result<Image> decode_image(std::span<const uint8_t> bytes, const std::string& display_name) {
  KILN_ASSIGN_OR_RETURN(vision::Image image, vision::decode_image_bytes(bytes, display_name));
  return api::from_vision(std::move(image));
}

bool is_image_file(const std::filesystem::path& path) { return vision::has_image_extension(path); }

Status save_jpeg(const std::filesystem::path& path, const Image& image, int quality) {
  KILN_RETURN_IF_ERROR(api::check_image(image));
  return vision::save_jpeg(path, api::to_vision(image), quality);
}

}  // namespace kiln
