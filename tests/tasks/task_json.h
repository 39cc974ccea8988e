// Decoder results (vision structs) as the JSON layout tests/tools' Python references print,
// so the task tests can compare them key by key: {"image", "detections": [{"class_id",
// "class_name", "confidence", "box_xyxy", + per task "mask_area" (pixels at the letterboxed
// input) | "keypoints" [[x, y, conf], ...]}]}, obb "box_xywhr", classify {"image", "top5"}.
// A test adapter only: kiln's own JSON is written by the CLI from the API's Prediction.
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


namespace {

std::string class_name(int class_id, const std::vector<std::string>& names) {
  return class_id >= 0 && class_id < static_cast<int>(names.size()) ? names[class_id] : std::to_string(class_id);
}

nlohmann::json detection_json(const Detection& d, const std::vector<std::string>& names) {
  return {{"class_id", d.class_id},
          {"class_name", class_name(d.class_id, names)},
          {"confidence", d.confidence},
          {"box_xyxy", {d.box[0], d.box[1], d.box[2], d.box[3]}}};
}

nlohmann::json image_json(const std::string& image_name, nlohmann::json detections) {
  return {{"image", image_name}, {"detections", std::move(detections)}};
}

}  // namespace

inline nlohmann::json image_result_json(const std::string& image_name, const std::vector<Detection>& detections,
                                 const std::vector<std::string>& names) {
  nlohmann::json dets = nlohmann::json::array();
  for (const Detection& d : detections) dets.push_back(detection_json(d, names));
  return image_json(image_name, std::move(dets));
}

inline nlohmann::json segment_result_json(const std::string& image_name, const std::vector<SegmentDetection>& detections,
                                 const std::vector<std::string>& names) {
  nlohmann::json dets = nlohmann::json::array();
  for (const SegmentDetection& d : detections) {
    nlohmann::json j = detection_json(d.detection, names);
    j["mask_area"] = d.mask.area();
    dets.push_back(std::move(j));
  }
  return image_json(image_name, std::move(dets));
}

inline nlohmann::json pose_result_json(const std::string& image_name, const std::vector<PoseDetection>& detections,
                                 const std::vector<std::string>& names) {
  nlohmann::json dets = nlohmann::json::array();
  for (const PoseDetection& d : detections) {
    nlohmann::json j = detection_json(d.detection, names);
    nlohmann::json kpts = nlohmann::json::array();
    for (const Keypoint& k : d.keypoints) kpts.push_back({k.x, k.y, k.confidence});
    j["keypoints"] = std::move(kpts);
    dets.push_back(std::move(j));
  }
  return image_json(image_name, std::move(dets));
}

inline nlohmann::json obb_result_json(const std::string& image_name, const std::vector<ObbDetection>& detections,
                                 const std::vector<std::string>& names) {
  nlohmann::json dets = nlohmann::json::array();
  for (const ObbDetection& d : detections) {
    dets.push_back({{"class_id", d.class_id},
                    {"class_name", class_name(d.class_id, names)},
                    {"confidence", d.confidence},
                    {"box_xywhr", {d.box.cx, d.box.cy, d.box.w, d.box.h, d.box.angle}}});
  }
  return image_json(image_name, std::move(dets));
}

inline nlohmann::json classify_result_json(const std::string& image_name, const std::vector<ClassScore>& top,
                                 const std::vector<std::string>& names) {
  nlohmann::json list = nlohmann::json::array();
  for (const ClassScore& c : top)
    list.push_back({{"class_id", c.class_id}, {"class_name", class_name(c.class_id, names)}, {"confidence", c.confidence}});
  return {{"image", image_name}, {"top5", std::move(list)}};
}

}  // namespace kiln::vision
