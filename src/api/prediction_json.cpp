#include "api/prediction_json.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "vision/mask_contour.h"
#include "vision/mask_rle.h"

namespace kiln::api {

std::string class_name(int id, const std::vector<std::string>& names) {
  return id >= 0 && id < static_cast<int>(names.size()) ? names[id] : std::to_string(id);
}

const std::map<std::string, MaskFormat>& mask_format_names() {
  static const std::map<std::string, MaskFormat> names = {
      {"polygon", MaskFormat::kPolygon}, {"rle", MaskFormat::kRle}, {"both", MaskFormat::kBoth}};
  return names;
}

nlohmann::json prediction_json(const Prediction& p, const std::vector<std::string>& names, MaskFormat masks) {
  nlohmann::json dets = nlohmann::json::array();
  for (size_t i = 0; i < p.boxes.size(); ++i) {
    const Detection& d = p.boxes[i];
    nlohmann::json det = {{"class_id", d.class_id},
                          {"class_name", class_name(d.class_id, names)},
                          {"confidence", d.confidence},
                          {"box_xyxy", {d.box.x1, d.box.y1, d.box.x2, d.box.y2}}};
    if (i < p.masks.size()) {
      const Mask& m = p.masks[i];
      det["mask_area"] = std::count(m.data.begin(), m.data.end(), uint8_t{1});
      if (masks != MaskFormat::kRle) {
        nlohmann::json polygons = nlohmann::json::array();
        for (const auto& contour : vision::outer_contours(m.data.data(), m.width, m.height)) {
          nlohmann::json points = nlohmann::json::array();
          for (const vision::ContourPoint& q : contour) points.push_back({q.x, q.y});
          polygons.push_back(std::move(points));
        }
        det["polygons"] = std::move(polygons);
      }
      if (masks != MaskFormat::kPolygon)
        det["rle"] = {{"size", {m.height, m.width}},
                      {"counts", vision::coco_rle_counts(vision::mask_runs(m.data.data(), m.width, m.height))}};
    }
    if (i < p.keypoints.size()) {
      nlohmann::json kpts = nlohmann::json::array();
      for (const Keypoint& k : p.keypoints[i].points) kpts.push_back({k.x, k.y, k.confidence});
      det["keypoints_xyc"] = kpts;
    }
    dets.push_back(det);
  }
  for (const RotatedBox& r : p.obb)
    dets.push_back({{"class_id", r.class_id},
                    {"class_name", class_name(r.class_id, names)},
                    {"confidence", r.confidence},
                    {"box_xywhr", {r.cx, r.cy, r.w, r.h, r.angle}}});
  nlohmann::json out = {{"detections", dets}};
  if (!p.top5.empty()) {
    nlohmann::json top = nlohmann::json::array();
    for (const ClassScore& c : p.top5)
      top.push_back({{"class_id", c.class_id}, {"class_name", class_name(c.class_id, names)}, {"confidence", c.score}});
    out["top5"] = top;
  }
  return out;
}

}  // namespace kiln::api
