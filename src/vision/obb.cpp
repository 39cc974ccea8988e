#include "vision/obb.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

namespace kiln::vision {

namespace {

// Covariance [[a, c], [c, b]] of a box's Gaussian (metrics._get_covariance_matrix).
struct Covariance {
  float a, b, c;
};

Covariance covariance(const RotatedBox& r) {
  const float a = r.w * r.w / 12.f, b = r.h * r.h / 12.f;
  const float cos = std::cos(r.angle), sin = std::sin(r.angle);
  const float cos2 = cos * cos, sin2 = sin * sin;
  return {a * cos2 + b * sin2, a * sin2 + b * cos2, (a - b) * cos * sin};
}

float probiou_with(const RotatedBox& p, const Covariance& s, const RotatedBox& q, const Covariance& t) {
  constexpr float eps = 1e-7f;
  const float a = s.a + t.a, b = s.b + t.b, c = s.c + t.c;
  const float dx = p.cx - q.cx, dy = p.cy - q.cy;
  const float denom = a * b - c * c + eps;
  const float t1 = (a * dy * dy + b * dx * dx) / denom * 0.25f;
  const float t2 = (c * (q.cx - p.cx) * dy) / denom * 0.5f;
  const float dets = std::max(s.a * s.b - s.c * s.c, 0.f) * std::max(t.a * t.b - t.c * t.c, 0.f);
  const float t3 = std::log((a * b - c * c) / (4.f * std::sqrt(dets) + eps) + eps) * 0.5f;
  const float bd = std::clamp(t1 + t2 + t3, eps, 100.f);
  const float hd = std::sqrt(1.f - std::exp(-bd) + eps);
  return 1.f - hd;
}

}  // namespace

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
