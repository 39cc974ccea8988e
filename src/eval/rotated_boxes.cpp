#include "eval/rotated_boxes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace kiln::eval {

namespace {

using Point = std::array<float, 2>;

double cross(const Point& o, const Point& a, const Point& b) {
  return (static_cast<double>(a[0]) - o[0]) * (static_cast<double>(b[1]) - o[1]) -
         (static_cast<double>(a[1]) - o[1]) * (static_cast<double>(b[0]) - o[0]);
}

// Andrew's monotone chain, counter-clockwise, collinear points dropped.
std::vector<Point> convex_hull(std::vector<Point> p) {
  std::sort(p.begin(), p.end());
  p.erase(std::unique(p.begin(), p.end()), p.end());
  if (p.size() < 3) return p;
  std::vector<Point> h(2 * p.size());
  size_t k = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    while (k >= 2 && cross(h[k - 2], h[k - 1], p[i]) <= 0) --k;
    h[k++] = p[i];
  }
  for (size_t i = p.size() - 1, t = k + 1; i-- > 0;) {
    while (k >= t && cross(h[k - 2], h[k - 1], p[i]) <= 0) --k;
    h[k++] = p[i];
  }
  h.resize(k - 1);
  return h;
}

}  // namespace

vision::RotatedBox min_area_rect(std::span<const std::array<float, 2>> points) {
  const std::vector<Point> hull = convex_hull({points.begin(), points.end()});
  vision::RotatedBox best;
  if (hull.empty()) return best;
  if (hull.size() == 1) return {hull[0][0], hull[0][1], 0.f, 0.f, 0.f};
  double best_area = std::numeric_limits<double>::infinity();
  double cx = 0, cy = 0, bw = 0, bh = 0, theta = 0;
  for (size_t i = 0; i < hull.size(); ++i) {
    const Point& a = hull[i];
    const Point& b = hull[(i + 1) % hull.size()];
    const double ex = static_cast<double>(b[0]) - a[0], ey = static_cast<double>(b[1]) - a[1];
    const double len = std::hypot(ex, ey);
    if (len == 0) continue;
    const double ux = ex / len, uy = ey / len;  // along the edge; (-uy, ux) across it
    double lo_u = std::numeric_limits<double>::infinity(), hi_u = -lo_u, lo_v = lo_u, hi_v = -lo_u;
    for (const Point& p : hull) {
      const double u = p[0] * ux + p[1] * uy, v = -p[0] * uy + p[1] * ux;
      lo_u = std::min(lo_u, u), hi_u = std::max(hi_u, u), lo_v = std::min(lo_v, v), hi_v = std::max(hi_v, v);
    }
    const double area = (hi_u - lo_u) * (hi_v - lo_v);
    if (area < best_area) {
      best_area = area;
      const double mu = (lo_u + hi_u) / 2, mv = (lo_v + hi_v) / 2;
      cx = mu * ux - mv * uy;
      cy = mu * uy + mv * ux;
      bw = hi_u - lo_u;
      bh = hi_v - lo_v;
      theta = std::atan2(uy, ux);
    }
  }
  // xyxyxyxy2xywhr: the long side is w; the angle folded into [-pi/4, 3pi/4).
  if (bw < bh) {
    std::swap(bw, bh);
    theta += std::numbers::pi / 2;
  }
  while (theta >= 3 * std::numbers::pi / 4) theta -= std::numbers::pi;
  while (theta < -std::numbers::pi / 4) theta += std::numbers::pi;
  return {static_cast<float>(cx), static_cast<float>(cy), static_cast<float>(bw), static_cast<float>(bh),
          static_cast<float>(theta)};
}

std::vector<RotatedPrediction> multi_label_nms_rotated(std::span<const float> raw, int num_anchors, int num_classes,
                                                       const ValNmsOptions& options) {
  auto at = [&](int channel, int anchor) { return raw[static_cast<size_t>(channel) * num_anchors + anchor]; };
  std::vector<RotatedPrediction> cands;
  for (int a = 0; a < num_anchors; ++a)
    for (int c = 0; c < num_classes; ++c) {
      const float s = at(4 + c, a);
      if (s > options.conf) cands.push_back({c, s, {at(0, a), at(1, a), at(2, a), at(3, a), at(4 + num_classes, a)}});
    }
  if (static_cast<int>(cands.size()) > options.max_nms) {
    std::stable_sort(cands.begin(), cands.end(),
                     [](const RotatedPrediction& x, const RotatedPrediction& y) { return x.conf > y.conf; });
    cands.resize(options.max_nms);
  }
  std::vector<vision::RotatedBox> offset(cands.size());
  std::vector<float> scores(cands.size());
  for (size_t i = 0; i < cands.size(); ++i) {
    const float off = static_cast<float>(cands[i].class_id) * options.max_wh;
    offset[i] = cands[i].box;
    offset[i].cx += off;
    offset[i].cy += off;
    scores[i] = cands[i].conf;
  }
  std::vector<int> keep = vision::nms_rotated(offset, scores, options.iou);
  if (static_cast<int>(keep.size()) > options.max_det) keep.resize(options.max_det);
  std::vector<RotatedPrediction> out;
  out.reserve(keep.size());
  for (int i : keep) out.push_back(cands[i]);
  return out;
}

std::vector<float> probiou_matrix(std::span<const vision::RotatedBox> a, std::span<const vision::RotatedBox> b) {
  std::vector<float> out(a.size() * b.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < b.size(); ++j) out[i * b.size() + j] = vision::probiou(a[i], b[j]);
  return out;
}

}  // namespace kiln::eval
