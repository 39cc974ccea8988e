#include "vision/mask_contour.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <utility>

namespace kiln::vision {

namespace {

// Freeman directions as OpenCV numbers them: 0 right, then counter-clockwise on screen.
constexpr int kDx[8] = {1, 1, 0, -1, -1, -1, 0, 1};
constexpr int kDy[8] = {0, -1, -1, -1, 0, 1, 1, 1};

// The mask with a one-pixel zero border, so tracing never leaves the array.
struct Padded {
  int w, h;
  std::vector<uint8_t> v;
  Padded(const uint8_t* mask, int width, int height)
      : w(width + 2), h(height + 2), v(static_cast<size_t>(w) * h, 0) {
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) v[static_cast<size_t>(y + 1) * w + x + 1] = mask[static_cast<size_t>(y) * width + x] != 0;
  }
  uint8_t& at(int x, int y) { return v[static_cast<size_t>(y) * w + x]; }
};

// OpenCV's icvFetchContour for an outer border starting at (x0, y0), CHAIN_APPROX_SIMPLE.
std::vector<ContourPoint> trace(Padded& img, int x0, int y0) {
  int s = 4, x1 = x0, y1 = y0;
  do {
    s = (s - 1) & 7;
    x1 = x0 + kDx[s], y1 = y0 + kDy[s];
  } while (img.at(x1, y1) == 0 && s != 4);
  if (s == 4) return {{x0 - 1, y0 - 1}};  // a lone pixel
  std::vector<ContourPoint> contour;
  int x3 = x0, y3 = y0, prev_s = s ^ 4;
  for (;;) {
    int x4, y4;
    do {
      s = (s + 1) & 7;
      x4 = x3 + kDx[s], y4 = y3 + kDy[s];
    } while (img.at(x4, y4) == 0);
    if (s != prev_s) contour.push_back({x3 - 1, y3 - 1});
    prev_s = s;
    if (x4 == x0 && y4 == y0 && x3 == x1 && y3 == y1) break;
    x3 = x4, y3 = y4;
    s = (s + 4) & 7;
  }
  return contour;
}

// Marks a traced piece (8-connected) so the raster scan does not start it again.
void mark_piece(Padded& img, int x, int y) {
  std::vector<std::pair<int, int>> stack = {{x, y}};
  img.at(x, y) = 2;
  while (!stack.empty()) {
    auto [cx, cy] = stack.back();
    stack.pop_back();
    for (int d = 0; d < 8; ++d) {
      uint8_t& n = img.at(cx + kDx[d], cy + kDy[d]);
      if (n == 1) {
        n = 2;
        stack.push_back({cx + kDx[d], cy + kDy[d]});
      }
    }
  }
}

// converter.min_index: the closest pair (first in row-major order on ties).
std::pair<size_t, size_t> min_index(const std::vector<ContourPoint>& a, const std::vector<ContourPoint>& b) {
  std::pair<size_t, size_t> best{0, 0};
  long long best_d = std::numeric_limits<long long>::max();
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < b.size(); ++j) {
      const long long dx = a[i].x - b[j].x, dy = a[i].y - b[j].y, d = dx * dx + dy * dy;
      if (d < best_d) best_d = d, best = {i, j};
    }
  return best;
}

// converter.merge_multi_segment, step for step (including its use of the unreversed index
// after reversing a middle segment), so the polygon is the one Ultralytics writes.
std::vector<ContourPoint> merge_multi_segment(std::vector<std::vector<ContourPoint>> segs) {
  const size_t n = segs.size();
  std::vector<std::vector<size_t>> idx_list(n);
  for (size_t i = 1; i < n; ++i) {
    auto [i1, i2] = min_index(segs[i - 1], segs[i]);
    idx_list[i - 1].push_back(i1);
    idx_list[i].push_back(i2);
  }
  std::vector<ContourPoint> out;
  for (size_t i = 0; i < n; ++i) {
    std::vector<size_t> idx = idx_list[i];
    std::vector<ContourPoint>& seg = segs[i];
    if (idx.size() == 2 && idx[0] > idx[1]) {
      std::reverse(idx.begin(), idx.end());
      std::reverse(seg.begin(), seg.end());
    }
    std::rotate(seg.begin(), seg.begin() + static_cast<std::ptrdiff_t>(idx[0]), seg.end());
    seg.push_back(seg.front());
    if (i == 0 || i == n - 1) {
      out.insert(out.end(), seg.begin(), seg.end());
    } else {
      const size_t end = std::min(seg.size(), idx[1] - idx[0] + 1);
      out.insert(out.end(), seg.begin(), seg.begin() + static_cast<std::ptrdiff_t>(end));
    }
  }
  for (size_t i = n; i-- > 0;) {
    if (i == 0 || i == n - 1) continue;
    const auto& idx = idx_list[i];
    const size_t from = std::min(segs[i].size(), static_cast<size_t>(std::llabs(static_cast<long long>(idx[1]) - static_cast<long long>(idx[0]))));
    out.insert(out.end(), segs[i].begin() + static_cast<std::ptrdiff_t>(from), segs[i].end());
  }
  return out;
}

}  // namespace

std::vector<std::vector<ContourPoint>> outer_contours(const uint8_t* mask, int width, int height) {
  Padded img(mask, width, height);
  std::vector<std::vector<ContourPoint>> found;
  for (int y = 1; y <= height; ++y)
    for (int x = 1; x <= width; ++x)
      if (img.at(x, y) == 1 && img.at(x - 1, y) == 0) {
        found.push_back(trace(img, x, y));
        mark_piece(img, x, y);
      }
  std::reverse(found.begin(), found.end());
  return found;
}

std::vector<ContourPoint> mask_polygon(const uint8_t* mask, int width, int height) {
  std::vector<std::vector<ContourPoint>> contours = outer_contours(mask, width, height);
  if (contours.empty()) return {};
  if (contours.size() == 1) return contours[0];
  return merge_multi_segment(std::move(contours));
}

}  // namespace kiln::vision
