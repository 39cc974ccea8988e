// Predictions in the COCO results format (what pycocotools' loadRes reads and Ultralytics'
// val --save_json writes): image_id, category_id, bbox [x, y, w, h] in original image
// pixels, score.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "eval/val_letterbox.h"
#include "vision/detect.h"

namespace kiln::eval {

// category_id by class index: COCO's 91-category ids when `names` are COCO's 80 classes
// (as Ultralytics maps them for COCO), else index + 1 (Ultralytics' class_map otherwise).
std::vector<int> coco_category_ids(const std::vector<std::string>& names);

// The image's id as Ultralytics writes it: the file stem as a number when it is one
// ("000000000139" -> 139), else the stem.
std::variant<int64_t, std::string> coco_image_id(const std::filesystem::path& image);

// A box in val's letterbox input pixels back in the original image (width x height),
// clipped to it, as [x, y, w, h] (top-left corner and size).
std::array<float, 4> coco_bbox(const vision::BoxXyxy& input_box, const ValInput& in, int width, int height);

}  // namespace kiln::eval
