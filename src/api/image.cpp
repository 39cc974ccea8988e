#include "api/image_convert.h"

#include <algorithm>
#include <utility>

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

}  // namespace api

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
