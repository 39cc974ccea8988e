#include "api/end2end_decode.h"

#include <algorithm>

#include "vision/pose.h"

namespace kiln::api {

Status decode_end2end(const LoadedModel& m, const End2EndOutput& e, const vision::NmsOptions& nms, int ih, int iw,
                      int oh, int ow, Prediction& p) {
  const std::string& task = m.info.task;
  const int nk = task == "pose" && m.info.kpt_shape.size() == 2 ? static_cast<int>(m.info.kpt_shape[0]) : 0;
  const int kd = nk ? static_cast<int>(m.info.kpt_shape[1]) : 0;
  const int extra = task == "segment" ? e.protos.channels : task == "pose" ? nk * kd : task == "obb" ? 1 : 0;
  if (task == "pose" && (nk == 0 || (kd != 2 && kd != 3)))
    return error(StatusCode::kUnsupported, m.name, ": pose model without a usable kpt_shape");
  if (e.channels < 6 + extra)
    return error(StatusCode::kUnsupported, m.name, ": end2end ", task, " rows have ", e.channels, " values, need ",
                 6 + extra);
  std::vector<int> rows;
  for (int r = 0; r < e.count && static_cast<int>(rows.size()) < nms.max_det; ++r)
    if (e.rows[static_cast<size_t>(r) * e.channels + 4] > nms.conf) rows.push_back(r);
  const vision::LetterboxGeometry geo = vision::letterbox_geometry(ih, iw, oh, ow);
  const float g = static_cast<float>(geo.gain);
  for (int r : rows) {
    const float* row = e.rows.data() + static_cast<size_t>(r) * e.channels;
    const int cls = static_cast<int>(row[5]);
    if (!nms.classes.empty() && std::find(nms.classes.begin(), nms.classes.end(), cls) == nms.classes.end()) continue;
    if (task == "obb") {
      p.obb.push_back({cls, row[4], (row[0] - geo.pad_x) / g, (row[1] - geo.pad_y) / g, row[2] / g, row[3] / g,
                       row[e.channels - 1]});
      continue;
    }
    const vision::BoxXyxy input_box = {row[0], row[1], row[2], row[3]};
    if (task == "segment") {
      vision::Mask mask = vision::process_mask(e.protos, {row + 6, static_cast<size_t>(e.protos.channels)}, input_box, ih, iw);
      if (mask.area() == 0) continue;  // as the NMS path: only detections with a mask
      vision::Mask full = vision::mask_to_image(mask, oh, ow);
      p.masks.push_back({full.width, full.height, std::move(full.pixels)});
    }
    const vision::BoxXyxy b = vision::scale_box(input_box, ih, iw, oh, ow);
    p.boxes.push_back({cls, row[4], {b[0], b[1], b[2], b[3]}});
    if (task == "pose") {
      Keypoints k;
      for (int j = 0; j < nk; ++j) {
        const float* v = row + 6 + j * kd;
        const vision::Keypoint s = vision::scale_keypoint({v[0], v[1], kd >= 3 ? v[2] : 1.f}, ih, iw, oh, ow);
        k.points.push_back({s.x, s.y, s.confidence});
      }
      p.keypoints.push_back(std::move(k));
    }
  }
  return Status::Ok();
}

}  // namespace kiln::api
