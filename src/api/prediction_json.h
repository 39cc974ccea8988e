// One image's Prediction as JSON: the object kiln predict --json (and track, pipeline)
// writes per image and the Python package's Results.to_json() returns, one writer for
// both so they agree to the digit.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/prediction.h"

namespace kiln::api {

// What a class id is called: names[id], else the id as text (a model without names).
std::string class_name(int id, const std::vector<std::string>& names);

// How segment masks are written: polygons, COCO compressed RLE, or both.
enum class MaskFormat { kPolygon, kRle, kBoth };
// Their spellings (kiln predict --masks), the one list of them: polygon, rle, both.
const std::map<std::string, MaskFormat>& mask_format_names();

// {"detections": [{"class_id", "class_name", "confidence", "box_xyxy", segment: "mask_area"
// (pixels at the original image size) and "polygons" (the outer border of each piece of
// the mask, [[x, y], ...] in image pixels) and/or "rle" ({"size": [h, w], "counts": COCO's
// compressed string}, the mask at the image size, as pycocotools' mask.encode writes it),
// pose: "keypoints_xyc"}]}; obb detections carry "box_xywhr" instead of "box_xyxy";
// classify adds "top5".
nlohmann::json prediction_json(const Prediction& p, const std::vector<std::string>& names,
                               MaskFormat masks = MaskFormat::kPolygon);

}  // namespace kiln::api
