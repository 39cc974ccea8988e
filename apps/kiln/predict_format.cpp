#include "predict_format.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "api/prediction_json.h"
#include "vision/mask_contour.h"

namespace kiln::cli {

using api::class_name;

namespace {

// One label line: values printed like Python's "%g" (C's %g), space separated.
class Line {
 public:
  explicit Line(int cls) { add(cls); }
  void add(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    if (!text_.empty()) text_ += ' ';
    text_ += buf;
  }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

}  // namespace

std::string summarize(const Prediction& p, const std::vector<std::string>& names) {
  std::ostringstream os;
  if (!p.top5.empty()) {
    os.precision(2);
    for (const ClassScore& c : p.top5) os << class_name(c.class_id, names) << " " << std::fixed << c.score << ", ";
    return os.str();
  }
  std::map<int, int> counts;
  for (const auto& d : p.boxes) ++counts[d.class_id];
  for (const auto& r : p.obb) ++counts[r.class_id];
  if (counts.empty()) return "(no detections), ";
  for (auto [cls, n] : counts) os << n << " " << class_name(cls, names) << (n > 1 ? "s" : "") << ", ";
  return os.str();
}

std::string stage_times(const Speed& speed) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "preprocess %.1f ms, inference %.1f ms, postprocess %.1f ms", speed.preprocess_ms,
                speed.inference_ms, speed.postprocess_ms);
  return buf;
}

std::string yolo_txt(const Prediction& p, const ModelInfo& info, int width, int height, bool save_conf) {
  // Arithmetic in float32 as Ultralytics' tensors do it, so the %g digits agree.
  const float W = static_cast<float>(width), H = static_cast<float>(height);
  std::string out;
  if (!p.top5.empty()) {
    char buf[32];
    for (const ClassScore& c : p.top5) {
      std::snprintf(buf, sizeof buf, "%.2f ", c.score);
      out += buf + class_name(c.class_id, info.names) + "\n";
    }
    return out;
  }
  const bool has_visible = info.kpt_shape.size() >= 2 && info.kpt_shape[1] == 3;
  for (size_t i = 0; i < p.boxes.size(); ++i) {
    const Detection& d = p.boxes[i];
    Line line(d.class_id);
    if (i < p.masks.size()) {
      const Mask& m = p.masks[i];
      for (const vision::ContourPoint& q : vision::mask_polygon(m.data.data(), m.width, m.height)) {
        line.add(static_cast<float>(q.x) / W);
        line.add(static_cast<float>(q.y) / H);
      }
    } else {
      line.add((d.box.x1 + d.box.x2) / 2 / W);
      line.add((d.box.y1 + d.box.y2) / 2 / H);
      line.add((d.box.x2 - d.box.x1) / W);
      line.add((d.box.y2 - d.box.y1) / H);
    }
    if (i < p.keypoints.size())
      for (const Keypoint& k : p.keypoints[i].points) {
        line.add(k.x / W);
        line.add(k.y / H);
        if (has_visible) line.add(k.confidence);
      }
    if (save_conf) line.add(d.confidence);
    out += line.str() + "\n";
  }
  for (const RotatedBox& r : p.obb) {
    // ops.xywhr2xyxyxyxy: corners ctr + v1 + v2, ctr + v1 - v2, ctr - v1 - v2, ctr - v1 + v2.
    const float c = std::cos(r.angle), s = std::sin(r.angle);
    const float v1x = r.w / 2 * c, v1y = r.w / 2 * s, v2x = -r.h / 2 * s, v2y = r.h / 2 * c;
    const float xs[4] = {r.cx + v1x + v2x, r.cx + v1x - v2x, r.cx - v1x - v2x, r.cx - v1x + v2x};
    const float ys[4] = {r.cy + v1y + v2y, r.cy + v1y - v2y, r.cy - v1y - v2y, r.cy - v1y + v2y};
    Line line(r.class_id);
    for (int k = 0; k < 4; ++k) {
      line.add(xs[k] / W);
      line.add(ys[k] / H);
    }
    if (save_conf) line.add(r.confidence);
    out += line.str() + "\n";
  }
  return out;
}

std::string mot_row(int64_t frame, int track_id, const Box& box, float score) {
  char row[160];
  std::snprintf(row, sizeof row, "%lld,%d,%.2f,%.2f,%.2f,%.2f,%.6f,-1,-1,-1\n", static_cast<long long>(frame), track_id,
                box.x1, box.y1, box.x2 - box.x1, box.y2 - box.y1, score);
  return row;
}

}  // namespace kiln::cli
