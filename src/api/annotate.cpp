#include "kiln/annotate.h"

#include <algorithm>
#include <cmath>

#include "api/image_convert.h"
#include "vision/draw.h"
#include "vision/draw_tasks.h"

namespace kiln {

namespace {

vision::Detection to_vision(const Detection& d) { return {d.class_id, d.confidence, {d.box.x1, d.box.y1, d.box.x2, d.box.y2}}; }

void blend_masks(vision::Image& canvas, const Prediction& p) {
  for (size_t i = 0; i < p.masks.size() && i < p.boxes.size(); ++i) {
    const Mask& m = p.masks[i];
    if (m.width != canvas.width || m.height != canvas.height) continue;
    vision::blend_mask(canvas, vision::Mask{m.width, m.height, m.data}, vision::class_color(p.boxes[i].class_id), 0.5f);
  }
}

// With Ultralytics' plotting conventions (vision/draw_tasks.h): masks blended under the
// boxes, keypoints and skeletons over them, rotated outlines, top-5 as text.
void draw_on(vision::Image& canvas, const Prediction& p, const std::vector<std::string>& names,
             const vision::DrawStyle& style) {
  blend_masks(canvas, p);
  if (!p.keypoints.empty() && p.keypoints.size() == p.boxes.size()) {
    std::vector<vision::PoseDetection> poses;
    for (size_t i = 0; i < p.boxes.size(); ++i) {
      vision::PoseDetection pose{to_vision(p.boxes[i]), {}};
      for (const Keypoint& k : p.keypoints[i].points) pose.keypoints.push_back({k.x, k.y, k.confidence});
      poses.push_back(std::move(pose));
    }
    vision::draw_poses(canvas, poses, names, style);
  } else {
    std::vector<vision::Detection> dets;
    for (const Detection& d : p.boxes) dets.push_back(to_vision(d));
    vision::draw_detections(canvas, dets, names, style);
  }
  if (!p.obb.empty()) {
    std::vector<vision::ObbDetection> obbs;
    for (const RotatedBox& r : p.obb) obbs.push_back({r.class_id, r.confidence, {r.cx, r.cy, r.w, r.h, r.angle}});
    vision::draw_obbs(canvas, obbs, names, style);
  }
  if (!p.top5.empty()) {
    std::vector<vision::ClassScore> top;
    for (const ClassScore& c : p.top5) top.push_back({c.class_id, c.score});
    vision::draw_top_k(canvas, top, names, style);
  }
}

void draw_tracked_on(vision::Image& canvas, const Prediction& p, const std::vector<TrackMark>& marks,
                     const std::vector<std::string>& names) {
  blend_masks(canvas, p);
  const int thickness = std::max(static_cast<int>(std::lround((canvas.width + canvas.height) / 2.0 * 0.003)), 2);
  std::vector<vision::Detection> dets;
  std::vector<std::string> labels;
  for (size_t i = 0; i < p.boxes.size() && i < marks.size(); ++i) {
    const vision::Detection d = to_vision(p.boxes[i]);
    const auto& trail = marks[i].trail;
    for (size_t k = 1; k < trail.size(); ++k)
      vision::draw_line(canvas, trail[k - 1].first, trail[k - 1].second, trail[k].first, trail[k].second,
                        vision::class_color(d.class_id), thickness);
    labels.push_back("id:" + std::to_string(marks[i].track_id) + " " + vision::detection_label(d, names));
    dets.push_back(d);
  }
  vision::draw_labeled_detections(canvas, dets, labels);
}

// Lends the image's pixels to a vision::Image for `draw`, then takes them back.
template <typename Draw>
void draw_borrowed(Image& image, Draw&& draw) {
  if (!api::check_image(image).ok()) return;
  vision::Image canvas;
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.pixels = std::move(image.pixels);
  draw(canvas);
  image.pixels = std::move(canvas.pixels);
}

}  // namespace

void draw_prediction(Image& image, const Prediction& prediction, const std::vector<std::string>& names,
                     const DrawStyle& style) {
  const vision::DrawStyle vstyle{style.line_width, style.labels, style.confidence};
  draw_borrowed(image, [&](vision::Image& canvas) { draw_on(canvas, prediction, names, vstyle); });
}

void draw_tracked(Image& image, const Prediction& prediction, const std::vector<TrackMark>& marks,
                  const std::vector<std::string>& names) {
  draw_borrowed(image, [&](vision::Image& canvas) { draw_tracked_on(canvas, prediction, marks, names); });
}

}  // namespace kiln
