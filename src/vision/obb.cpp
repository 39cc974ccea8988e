#include "vision/obb.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

#include "vision/probiou_math.h"

namespace kiln::vision {

float probiou(const RotatedBox& p, const RotatedBox& q) { return probiou_with(p, covariance(p), q, covariance(q)); }

std::vector<int> nms_rotated(const std::vector<RotatedBox>& boxes, const std::vector<float>& scores,
                             double iou_threshold) {
  std::vector<int> order(boxes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return scores[x] > scores[y]; });
  // torch compares the float32 IoUs against the threshold cast to float32.
  const float threshold = static_cast<float>(iou_threshold);
  std::vector<Covariance> cov(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) cov[i] = covariance(boxes[i]);
  std::vector<int> keep;
  for (size_t j = 0; j < order.size(); ++j) {
    const int bj = order[j];
    bool suppressed = false;
    for (size_t i = 0; i < j && !suppressed; ++i) {
      const int bi = order[i];
      suppressed = probiou_with(boxes[bi], cov[bi], boxes[bj], cov[bj]) >= threshold;
    }
    if (!suppressed) keep.push_back(order[j]);
  }
  return keep;
}

RotatedBox regularize_rbox(const RotatedBox& box) {
  constexpr float pi = std::numbers::pi_v<float>;
  // Python's % (result has the divisor's sign), in float as torch computes it.
  auto pymod = [](float x, float m) {
    float r = std::fmod(x, m);
    return r < 0 ? r + m : r;
  };
  RotatedBox r = box;
  if (pymod(box.angle, pi) >= pi / 2) std::swap(r.w, r.h);
  r.angle = pymod(box.angle, pi / 2);
  return r;
}

std::array<std::array<float, 2>, 4> rbox_corners(const RotatedBox& r) {
  const float cos = std::cos(r.angle), sin = std::sin(r.angle);
  const float v1x = r.w / 2 * cos, v1y = r.w / 2 * sin;
  const float v2x = -r.h / 2 * sin, v2y = r.h / 2 * cos;
  return {{{r.cx + v1x + v2x, r.cy + v1y + v2y},
           {r.cx + v1x - v2x, r.cy + v1y - v2y},
           {r.cx - v1x - v2x, r.cy - v1y - v2y},
           {r.cx - v1x + v2x, r.cy - v1y + v2y}}};
}

std::vector<ObbDetection> decode_obb(std::span<const float> raw, int num_anchors, int num_classes,
                                     const NmsOptions& options, int input_h, int input_w, int orig_h, int orig_w) {
  auto at = [&](int channel, int anchor) { return raw[static_cast<size_t>(channel) * num_anchors + anchor]; };
  const std::vector<Candidate> cands = threshold_candidates(raw, num_anchors, num_classes, options);
  std::vector<RotatedBox> boxes(cands.size()), offset_boxes(cands.size());
  std::vector<float> scores(cands.size());
  for (size_t i = 0; i < cands.size(); ++i) {
    const int a = cands[i].anchor;
    boxes[i] = {at(0, a), at(1, a), at(2, a), at(3, a), at(4 + num_classes, a)};
    const float off = options.agnostic ? 0.f : static_cast<float>(cands[i].class_id) * options.max_wh;
    offset_boxes[i] = boxes[i];
    offset_boxes[i].cx += off, offset_boxes[i].cy += off;
    scores[i] = cands[i].score;
  }
  std::vector<int> keep = nms_rotated(offset_boxes, scores, options.iou);
  if (static_cast<int>(keep.size()) > options.max_det) keep.resize(options.max_det);
  const LetterboxGeometry geo = letterbox_geometry(input_h, input_w, orig_h, orig_w);
  const float g = static_cast<float>(geo.gain);
  std::vector<ObbDetection> out;
  for (int i : keep) {
    RotatedBox b = boxes[i];
    b.cx = (b.cx - geo.pad_x) / g, b.cy = (b.cy - geo.pad_y) / g, b.w /= g, b.h /= g;
    out.push_back({cands[i].class_id, cands[i].score, b});
  }
  return out;
}

}  // namespace kiln::vision
