// Detections as JSON: an array with one entry per image,
// {"image": name, "detections": [{"class_id", "class_name", "confidence", "box_xyxy"}]}.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vision/detect.h"

namespace kiln::vision {

nlohmann::json image_result_json(const std::string& image_name, const std::vector<Detection>& detections,
                                 const std::vector<std::string>& names);

}  // namespace kiln::vision
