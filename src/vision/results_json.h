// Results as JSON, one object per image (image_result_json for detect, <task>_result_json
// for the others): {"image": name, "detections": [{"class_id",
// "class_name", "confidence", "box_xyxy", + per task: "mask_area" (pixels at the
// letterboxed input resolution) | "keypoints" [[x, y, conf], ...]}]}; obb detections
// carry "box_xywhr" instead of "box_xyxy"; classify gives {"image", "top5": [{"class_id",
// "class_name", "confidence"}]}.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vision/classify.h"
#include "vision/detect.h"
#include "vision/obb.h"
#include "vision/pose.h"
#include "vision/segment.h"

namespace kiln::vision {

nlohmann::json image_result_json(const std::string& image_name, const std::vector<Detection>& detections,
                                 const std::vector<std::string>& names);
nlohmann::json segment_result_json(const std::string& image_name, const std::vector<SegmentDetection>& detections,
                                 const std::vector<std::string>& names);
nlohmann::json pose_result_json(const std::string& image_name, const std::vector<PoseDetection>& detections,
                                 const std::vector<std::string>& names);
nlohmann::json obb_result_json(const std::string& image_name, const std::vector<ObbDetection>& detections,
                                 const std::vector<std::string>& names);
nlohmann::json classify_result_json(const std::string& image_name, const std::vector<ClassScore>& top,
                                 const std::vector<std::string>& names);

}  // namespace kiln::vision
