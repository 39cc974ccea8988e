#include "vision/results_json.h"

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

nlohmann::json image_result_json(const std::string& image_name, const std::vector<Detection>& detections,
                                 const std::vector<std::string>& names) {
  nlohmann::json dets = nlohmann::json::array();
  for (const Detection& d : detections) dets.push_back(detection_json(d, names));
  return image_json(image_name, std::move(dets));
}

nlohmann::json segment_result_json(const std::string& image_name, const std::vector<SegmentDetection>& detections,
                                 const std::vector<std::string>& names) {
  nlohmann::json dets = nlohmann::json::array();
  for (const SegmentDetection& d : detections) {
    nlohmann::json j = detection_json(d.detection, names);
    j["mask_area"] = d.mask.area();
    dets.push_back(std::move(j));
  }
  return image_json(image_name, std::move(dets));
}

nlohmann::json pose_result_json(const std::string& image_name, const std::vector<PoseDetection>& detections,
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

nlohmann::json obb_result_json(const std::string& image_name, const std::vector<ObbDetection>& detections,
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

nlohmann::json classify_result_json(const std::string& image_name, const std::vector<ClassScore>& top,
                                 const std::vector<std::string>& names) {
  nlohmann::json list = nlohmann::json::array();
  for (const ClassScore& c : top)
    list.push_back({{"class_id", c.class_id}, {"class_name", class_name(c.class_id, names)}, {"confidence", c.confidence}});
  return {{"image", image_name}, {"top5", std::move(list)}};
}

}  // namespace kiln::vision
