#include "vision/crop.h"

#include <algorithm>
#include <cstring>

#include "vision/letterbox.h"
#include "vision/resize.h"

namespace kiln::vision {

CropRegion crop_region(const BoxXyxy& box, int image_width, int image_height, double gain, double pad) {
  // xyxy -> xywh, grow, xywh -> xyxy, in float32 as Ultralytics' tensors are.
  const float cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
  const float g = static_cast<float>(gain), d = static_cast<float>(pad);
  const float w = (box[2] - box[0]) * g + d;
  const float h = (box[3] - box[1]) * g + d;
  auto truncate = [](float v) { return static_cast<int>(v); };  // toward zero, as .long()
  CropRegion r{truncate(cx - w / 2), truncate(cy - h / 2), truncate(cx + w / 2), truncate(cy + h / 2)};
  r.x1 = std::clamp(r.x1, 0, image_width), r.x2 = std::clamp(r.x2, 0, image_width);
  r.y1 = std::clamp(r.y1, 0, image_height), r.y2 = std::clamp(r.y2, 0, image_height);
  return r;
}

CropPlacement place_crop(const CropRegion& region, CropFit fit, int input_width, int input_height) {
  CropPlacement p{region, fit, input_width, input_height};
  if (fit == CropFit::kResize) {
    p.scale_x = static_cast<float>(static_cast<double>(input_width) / region.width());
    p.scale_y = static_cast<float>(static_cast<double>(input_height) / region.height());
    return p;
  }
  const LetterboxGeometry g = letterbox_geometry(input_height, input_width, region.height(), region.width());
  p.scale_x = p.scale_y = static_cast<float>(g.gain);
  p.pad_x = g.pad_x, p.pad_y = g.pad_y;
  return p;
}

Image crop_image(const Image& image, const CropRegion& region) {
  Image out(region.width(), region.height());
  const size_t row_bytes = static_cast<size_t>(region.width()) * 3;
  for (int y = 0; y < out.height; ++y)
    std::memcpy(out.row(y), image.row(region.y1 + y) + static_cast<size_t>(region.x1) * 3, row_bytes);
  return out;
}

Image fit_crop(const Image& frame, const CropPlacement& p) {
  const Image crop = crop_image(frame, p.region);
  if (p.fit == CropFit::kResize) return resize_linear(crop, p.input_width, p.input_height);
  return letterbox(crop, p.input_height, p.input_width).image;
}

BoxXyxy box_to_frame(const CropPlacement& p, const BoxXyxy& box) {
  const int w = p.region.width(), h = p.region.height();
  BoxXyxy b = box;
  if (p.fit == CropFit::kLetterbox) {
    b = scale_box(box, p.input_height, p.input_width, h, w);
  } else {
    b = {std::clamp(box[0] / p.scale_x, 0.f, static_cast<float>(w)), std::clamp(box[1] / p.scale_y, 0.f, static_cast<float>(h)),
         std::clamp(box[2] / p.scale_x, 0.f, static_cast<float>(w)), std::clamp(box[3] / p.scale_y, 0.f, static_cast<float>(h))};
  }
  const float x0 = static_cast<float>(p.region.x1), y0 = static_cast<float>(p.region.y1);
  return {b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0};
}

FramePoint point_to_frame(const CropPlacement& p, float x, float y) {
  const int w = p.region.width(), h = p.region.height();
  FramePoint f;
  if (p.fit == CropFit::kLetterbox) {
    const Keypoint k = scale_keypoint({x, y, 1.f}, p.input_height, p.input_width, h, w);
    f = {k.x, k.y};
  } else {
    f = {std::clamp(x / p.scale_x, 0.f, static_cast<float>(w)), std::clamp(y / p.scale_y, 0.f, static_cast<float>(h))};
  }
  return {f.x + static_cast<float>(p.region.x1), f.y + static_cast<float>(p.region.y1)};
}

}  // namespace kiln::vision
