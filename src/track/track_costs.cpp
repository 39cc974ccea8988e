#include "track/track_costs.h"

#include <algorithm>
#include <cmath>

namespace kiln::track {

CostMatrix iou_distance(const TrackList& a, const TrackList& b, BoxState kind) {
  CostMatrix m{static_cast<int>(a.size()), static_cast<int>(b.size()), {}};
  m.values.resize(a.size() * b.size());
  std::vector<std::array<float, 4>> bb;
  for (const auto& t : b) bb.push_back(t->xyxy(kind));
  for (size_t i = 0; i < a.size(); ++i) {
    const std::array<float, 4> p = a[i]->xyxy(kind);
    const float area_p = (p[2] - p[0]) * (p[3] - p[1]);
    for (size_t j = 0; j < bb.size(); ++j) {
      const std::array<float, 4>& q = bb[j];
      const float iw = std::max(std::min(p[2], q[2]) - std::max(p[0], q[0]), 0.0f);
      const float ih = std::max(std::min(p[3], q[3]) - std::max(p[1], q[1]), 0.0f);
      const float inter = iw * ih;
      const float area_q = (q[2] - q[0]) * (q[3] - q[1]);
      const float iou = inter / ((area_q + area_p - inter) + 1e-7f);
      m.values[i * bb.size() + j] = 1.0f - iou;
    }
  }
  return m;
}

void fuse_score(CostMatrix& cost, const TrackList& detections) {
  for (int i = 0; i < cost.rows; ++i)
    for (int j = 0; j < cost.cols; ++j) {
      float& c = cost.values[static_cast<size_t>(i) * cost.cols + j];
      const float sim = (1.0f - c) * detections[j]->score;
      c = 1.0f - sim;
    }
}

std::vector<double> embedding_distance(const TrackList& tracks, const TrackList& detections) {
  std::vector<double> d(tracks.size() * detections.size());
  for (size_t i = 0; i < tracks.size(); ++i)
    for (size_t j = 0; j < detections.size(); ++j) {
      const std::vector<float>& u = tracks[i]->smooth_feat;
      const std::vector<float>& v = detections[j]->curr_feat;
      double uv = 0, uu = 0, vv = 0;
      for (size_t k = 0; k < u.size() && k < v.size(); ++k) {
        uv += static_cast<double>(u[k]) * v[k];
        uu += static_cast<double>(u[k]) * u[k];
        vv += static_cast<double>(v[k]) * v[k];
      }
      d[i * detections.size() + j] = std::max(0.0, 1.0 - uv / (std::sqrt(uu) * std::sqrt(vv)));
    }
  return d;
}

}  // namespace kiln::track
