#include "track/track_state.h"

#include <cmath>

namespace kiln::track {

namespace {

constexpr float kFeatureAlpha = 0.9f;

void normalize(std::vector<float>& v) {
  double sq = 0;
  for (float x : v) sq += static_cast<double>(x) * x;
  const float norm = static_cast<float>(std::sqrt(sq));
  for (float& x : v) x /= norm;
}

}  // namespace

std::array<double, 4> Track::tlwh(BoxState kind) const {
  if (!has_state) return {detection_tlwh[0], detection_tlwh[1], detection_tlwh[2], detection_tlwh[3]};
  std::array<double, 4> r{kalman.mean[0], kalman.mean[1], kalman.mean[2], kalman.mean[3]};
  if (kind == BoxState::kXyah) r[2] *= r[3];
  r[0] -= r[2] / 2;
  r[1] -= r[3] / 2;
  return r;
}

std::array<float, 4> Track::xyxy(BoxState kind) const {
  if (!has_state) {
    const auto& t = detection_tlwh;
    return {t[0], t[1], t[0] + t[2], t[1] + t[3]};
  }
  const std::array<double, 4> t = tlwh(kind);
  return {static_cast<float>(t[0]), static_cast<float>(t[1]), static_cast<float>(t[0] + t[2]),
          static_cast<float>(t[1] + t[3])};
}

Track detection_track(const std::array<float, 4>& xyxy, float score, int class_id, int index,
                      const std::vector<float>& feature) {
  Track t;
  const float cx = (xyxy[0] + xyxy[2]) / 2, cy = (xyxy[1] + xyxy[3]) / 2;
  const float w = xyxy[2] - xyxy[0], h = xyxy[3] - xyxy[1];
  t.detection_tlwh = {cx - w / 2, cy - h / 2, w, h};
  t.score = score;
  t.class_id = class_id;
  t.detection_index = index;
  if (!feature.empty()) update_features(t, feature);
  return t;
}

Vec4 measurement(const std::array<float, 4>& tlwh, BoxState kind) {
  const float cx = tlwh[0] + tlwh[2] / 2, cy = tlwh[1] + tlwh[3] / 2;
  const float third = kind == BoxState::kXyah ? tlwh[2] / tlwh[3] : tlwh[2];
  return {cx, cy, third, tlwh[3]};
}

void update_features(Track& t, std::vector<float> feat) {
  normalize(feat);
  if (t.smooth_feat.empty()) {
    // BOTrack's first feature is its smoothed one too (one array): normalizing the smoothed
    // feature normalizes the current one again.
    normalize(feat);
    t.curr_feat = feat;
    t.smooth_feat = std::move(feat);
    return;
  }
  t.curr_feat = feat;
  const float beta = static_cast<float>(1.0 - 0.9);
  for (size_t i = 0; i < feat.size() && i < t.smooth_feat.size(); ++i) {
    const float a = kFeatureAlpha * t.smooth_feat[i];
    const float b = beta * feat[i];
    t.smooth_feat[i] = a + b;
  }
  normalize(t.smooth_feat);
}

}  // namespace kiln::track
