#include "eval/segment_masks.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "vision/segment.h"

namespace kiln::eval {

namespace {

// np.interp at x for xp = 0, 1, ..., n - 1.
float interp_index(double x, std::span<const float> fp) {
  const size_t n = fp.size();
  if (x <= 0) return fp[0];
  if (x >= static_cast<double>(n - 1)) return fp[n - 1];
  const size_t j = static_cast<size_t>(std::floor(x));
  const double t = x - static_cast<double>(j);
  return static_cast<float>(t == 0 ? fp[j] : fp[j] + (static_cast<double>(fp[j + 1]) - fp[j]) * t);
}

// An 8-connected line between integer points (cv2.line, LINE_8), as polygon boundaries.
void draw_line(std::vector<uint8_t>& img, int w, int h, int x0, int y0, int x1, int y1) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  while (true) {
    if (x0 >= 0 && x0 < w && y0 >= 0 && y0 < h) img[static_cast<size_t>(y0) * w + x0] = 1;
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

}  // namespace

Polygon resample_polygon(const Polygon& polygon, int n) {
  if (polygon.empty()) return {};
  Polygon s = polygon;
  s.push_back(polygon.front());  // closed
  const size_t len = s.size();
  std::vector<double> x;
  if (len < static_cast<size_t>(n)) {
    // np.linspace(0, len - 1, n - len), then the integer positions inserted in order.
    const int m = n - static_cast<int>(len);
    std::vector<double> lin(m);
    for (int i = 0; i < m; ++i) lin[i] = m == 1 ? 0.0 : static_cast<double>(len - 1) * i / (m - 1);
    if (m > 1) lin[m - 1] = static_cast<double>(len - 1);
    size_t k = 0;
    for (size_t j = 0; j < len; ++j) {
      while (k < lin.size() && lin[k] < static_cast<double>(j)) x.push_back(lin[k++]);  // searchsorted, left
      x.push_back(static_cast<double>(j));
    }
    while (k < lin.size()) x.push_back(lin[k++]);
  } else {
    for (int i = 0; i < n; ++i) x.push_back(n == 1 ? 0.0 : static_cast<double>(len - 1) * i / (n - 1));
  }
  std::vector<float> xs(len), ys(len);
  for (size_t j = 0; j < len; ++j) xs[j] = s[j][0], ys[j] = s[j][1];
  Polygon out;
  out.reserve(x.size());
  for (double v : x) out.push_back({interp_index(v, xs), interp_index(v, ys)});
  return out;
}

std::vector<uint8_t> polygon_mask(const Polygon& input_pixels, int input_h, int input_w, int ratio) {
  std::vector<uint8_t> full(static_cast<size_t>(input_h) * input_w, 0);
  const size_t n = input_pixels.size();
  if (n > 0) {
    // np.asarray(..., dtype=np.int32): truncation toward zero.
    std::vector<std::array<int, 2>> p(n);
    for (size_t i = 0; i < n; ++i)
      p[i] = {static_cast<int>(input_pixels[i][0]), static_cast<int>(input_pixels[i][1])};
    // Interior: pixel centres inside the polygon (even-odd, as fillPoly), then the outline.
    for (int y = 0; y < input_h; ++y) {
      const double cy = y;
      std::vector<double> xs;
      for (size_t i = 0; i < n; ++i) {
        const auto& a = p[i];
        const auto& b = p[(i + 1) % n];
        if ((a[1] <= cy && b[1] > cy) || (b[1] <= cy && a[1] > cy))
          xs.push_back(a[0] + (cy - a[1]) * (b[0] - a[0]) / static_cast<double>(b[1] - a[1]));
      }
      std::sort(xs.begin(), xs.end());
      for (size_t k = 0; k + 1 < xs.size(); k += 2) {
        const int x0 = std::max(0, static_cast<int>(std::ceil(xs[k])));
        const int x1 = std::min(input_w - 1, static_cast<int>(std::floor(xs[k + 1])));
        for (int x = x0; x <= x1; ++x) full[static_cast<size_t>(y) * input_w + x] = 1;
      }
    }
    for (size_t i = 0; i < n; ++i) {
      const auto& a = p[i];
      const auto& b = p[(i + 1) % n];
      draw_line(full, input_w, input_h, a[0], a[1], b[0], b[1]);
    }
  }
  // cv2.resize INTER_LINEAR by an integer factor r: each output pixel samples input
  // (r * o + (r - 1) / 2) between two pixels per axis with equal weights (r even), and
  // the uint8 fixed-point result rounds 2 of 4 set pixels up.
  const int mh = input_h / ratio, mw = input_w / ratio;
  std::vector<uint8_t> out(static_cast<size_t>(mh) * mw, 0);
  const int off = ratio / 2 - 1;
  for (int y = 0; y < mh; ++y)
    for (int x = 0; x < mw; ++x) {
      const int sy = y * ratio + off, sx = x * ratio + off;
      const int sum = full[static_cast<size_t>(sy) * input_w + sx] + full[static_cast<size_t>(sy) * input_w + sx + 1] +
                      full[static_cast<size_t>(sy + 1) * input_w + sx] +
                      full[static_cast<size_t>(sy + 1) * input_w + sx + 1];
      out[static_cast<size_t>(y) * mw + x] = sum >= 2 ? 1 : 0;
    }
  return out;
}

std::vector<std::vector<uint8_t>> layer_overlapping(const std::vector<std::vector<uint8_t>>& masks) {
  const size_t n = masks.size();
  if (n == 0) return {};
  std::vector<long> area(n);
  for (size_t i = 0; i < n; ++i) area[i] = std::accumulate(masks[i].begin(), masks[i].end(), 0L);
  // np.argsort(-areas): largest first (numpy's quicksort; equal areas keep no promised order).
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return area[a] > area[b]; });
  std::vector<int> owner(masks[0].size(), -1);
  for (size_t i : order)
    for (size_t p = 0; p < owner.size(); ++p)
      if (masks[i][p]) owner[p] = static_cast<int>(i);
  std::vector<std::vector<uint8_t>> out(n, std::vector<uint8_t>(owner.size(), 0));
  for (size_t p = 0; p < owner.size(); ++p)
    if (owner[p] >= 0) out[owner[p]][p] = 1;
  return out;
}

std::vector<uint8_t> prediction_mask(std::span<const float> protos, int channels, int mh, int mw,
                                     std::span<const float> coefficients, const vision::BoxXyxy& box, int input_h,
                                     int input_w, bool crop_rounded) {
  const size_t plane = static_cast<size_t>(mh) * mw;
  std::vector<float> logits(plane, 0.f);
  for (int c = 0; c < channels; ++c) {
    const float k = coefficients[c];
    const float* src = protos.data() + c * plane;
    for (size_t p = 0; p < plane; ++p) logits[p] += k * src[p];
  }
  const float rw = static_cast<float>(mw) / input_w, rh = static_cast<float>(mh) / input_h;
  const vision::BoxXyxy scaled{box[0] * rw, box[1] * rh, box[2] * rw, box[3] * rh};
  std::vector<uint8_t> out(plane, 0);
  if (crop_rounded) {
    vision::crop_mask(logits, mh, mw, scaled);
    for (size_t p = 0; p < plane; ++p) out[p] = logits[p] > 0.f;
    return out;
  }
  for (int y = 0; y < mh; ++y)
    for (int x = 0; x < mw; ++x) {
      const bool inside = x >= scaled[0] && x < scaled[2] && y >= scaled[1] && y < scaled[3];
      out[static_cast<size_t>(y) * mw + x] = inside && logits[static_cast<size_t>(y) * mw + x] > 0.f;
    }
  return out;
}

std::vector<float> mask_iou_matrix(const std::vector<std::vector<uint8_t>>& a, const std::vector<std::vector<uint8_t>>& b) {
  std::vector<float> out(a.size() * b.size());
  std::vector<long> area_b(b.size());
  for (size_t j = 0; j < b.size(); ++j) area_b[j] = std::accumulate(b[j].begin(), b[j].end(), 0L);
  for (size_t i = 0; i < a.size(); ++i) {
    const long area_a = std::accumulate(a[i].begin(), a[i].end(), 0L);
    for (size_t j = 0; j < b.size(); ++j) {
      long inter = 0;
      for (size_t p = 0; p < a[i].size(); ++p) inter += a[i][p] & b[j][p];
      out[i * b.size() + j] =
          static_cast<float>(inter) / (static_cast<float>(area_a + area_b[j] - inter) + 1e-7f);
    }
  }
  return out;
}

}  // namespace kiln::eval
