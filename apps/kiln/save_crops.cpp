#include "save_crops.h"

#include "vision/crop.h"

namespace kiln::cli {

namespace fs = std::filesystem;

namespace {

// save_one_box's defaults: the box's size times 1.02 plus 10 pixels, JPEG quality 95.
constexpr double kCropGain = 1.02, kCropPad = 10;
constexpr int kCropQuality = 95;

// Ultralytics' increment_path: <stem>.jpg, else <stem>2.jpg, <stem>3.jpg, ...
fs::path free_name(const fs::path& dir, const std::string& stem) {
  fs::path p = dir / (stem + ".jpg");
  std::error_code ec;
  for (int n = 2; fs::exists(p, ec); ++n) p = dir / (stem + std::to_string(n) + ".jpg");
  return p;
}

}  // namespace

Status save_crops(const Image& image, const Prediction& p, const std::vector<std::string>& names, const fs::path& dir,
                  const std::string& stem) {
  vision::Image frame;
  frame.width = image.width, frame.height = image.height, frame.pixels = image.pixels;
  for (const Detection& d : p.boxes) {
    const vision::CropRegion region =
        vision::crop_region({d.box.x1, d.box.y1, d.box.x2, d.box.y2}, image.width, image.height, kCropGain, kCropPad);
    if (region.empty()) continue;
    const std::string cls = d.class_id < static_cast<int>(names.size()) ? names[d.class_id] : std::to_string(d.class_id);
    const fs::path folder = dir / cls;
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) return error(StatusCode::kIoError, folder.string(), ": cannot create: ", ec.message());
    KILN_RETURN_IF_ERROR(vision::save_jpeg(free_name(folder, stem), vision::crop_image(frame, region), kCropQuality));
  }
  return Status::Ok();
}

}  // namespace kiln::cli
