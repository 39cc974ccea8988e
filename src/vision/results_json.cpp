#include "vision/results_json.h"

namespace kiln::vision {

nlohmann::json image_result_json(const std::string& image_name, const std::vector<Detection>& detections,
                                 const std::vector<std::string>& names) {
  nlohmann::json dets = nlohmann::json::array();
  for (const Detection& d : detections) {
    std::string name = d.class_id >= 0 && d.class_id < static_cast<int>(names.size()) ? names[d.class_id]
                                                                                       : std::to_string(d.class_id);
    dets.push_back({{"class_id", d.class_id},
                    {"class_name", name},
                    {"confidence", d.confidence},
                    {"box_xyxy", {d.box[0], d.box[1], d.box[2], d.box[3]}}});
  }
  return {{"image", image_name}, {"detections", dets}};
}

}  // namespace kiln::vision
