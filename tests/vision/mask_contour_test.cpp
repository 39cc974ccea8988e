// Mask polygons against what cv2.findContours(RETR_EXTERNAL, CHAIN_APPROX_SIMPLE) and
// Ultralytics' merge_multi_segment give on the same masks (values printed by cv2 4.x and
// ultralytics 8.4.50's converter.py).
#include <gtest/gtest.h>

#include <initializer_list>
#include <utility>

#include "vision/mask_contour.h"

namespace kiln::vision {
namespace {

using Points = std::vector<std::pair<int, int>>;

struct Grid {
  int w, h;
  std::vector<uint8_t> v;
  Grid(int width, int height) : w(width), h(height), v(static_cast<size_t>(width) * height, 0) {}
  void fill(int x1, int y1, int x2, int y2) {  // inclusive
    for (int y = y1; y <= y2; ++y)
      for (int x = x1; x <= x2; ++x) v[static_cast<size_t>(y) * w + x] = 1;
  }
};

Points points(const std::vector<ContourPoint>& c) {
  Points p;
  for (const ContourPoint& q : c) p.push_back({q.x, q.y});
  return p;
}

TEST(MaskContour, RectangleCorners) {
  Grid g(6, 6);
  g.fill(1, 1, 3, 3);
  auto c = outer_contours(g.v.data(), g.w, g.h);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(points(c[0]), (Points{{1, 1}, {1, 3}, {3, 3}, {3, 1}}));
}

TEST(MaskContour, DiamondDiagonals) {
  Grid g(7, 7);
  g.fill(3, 1, 3, 1);
  g.fill(2, 2, 4, 2);
  g.fill(1, 3, 5, 3);
  g.fill(2, 4, 4, 4);
  g.fill(3, 5, 3, 5);
  auto c = outer_contours(g.v.data(), g.w, g.h);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(points(c[0]), (Points{{3, 1}, {1, 3}, {3, 5}, {5, 3}}));
}

TEST(MaskContour, LonePixelAndLine) {
  Grid dot(5, 5);
  dot.fill(2, 2, 2, 2);
  EXPECT_EQ(points(outer_contours(dot.v.data(), 5, 5).at(0)), (Points{{2, 2}}));
  Grid line(8, 5);
  line.fill(1, 1, 5, 1);
  EXPECT_EQ(points(outer_contours(line.v.data(), 8, 5).at(0)), (Points{{1, 1}, {5, 1}}));
}

TEST(MaskContour, PiecesInCv2OrderAndMergedLikeUltralytics) {
  Grid g(10, 8);
  g.fill(1, 1, 2, 2);
  g.fill(6, 5, 8, 6);
  g.fill(7, 1, 8, 1);
  auto c = outer_contours(g.v.data(), g.w, g.h);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(points(c[0]), (Points{{6, 5}, {6, 6}, {8, 6}, {8, 5}}));
  EXPECT_EQ(points(c[1]), (Points{{7, 1}, {8, 1}}));
  EXPECT_EQ(points(c[2]), (Points{{1, 1}, {1, 2}, {2, 2}, {2, 1}}));
  EXPECT_EQ(points(mask_polygon(g.v.data(), g.w, g.h)),
            (Points{{8, 5}, {6, 5}, {6, 6}, {8, 6}, {8, 5}, {8, 1}, {7, 1}, {2, 1}, {1, 1}, {1, 2}, {2, 2}, {2, 1}, {7, 1}, {8, 1}}));

  Grid two(6, 6);
  two.fill(1, 1, 1, 1);
  two.fill(4, 4, 4, 4);
  EXPECT_EQ(points(mask_polygon(two.v.data(), 6, 6)), (Points{{4, 4}, {4, 4}, {1, 1}, {1, 1}}));
}

TEST(MaskContour, EmptyMaskHasNoPolygon) {
  Grid g(4, 4);
  EXPECT_TRUE(mask_polygon(g.v.data(), 4, 4).empty());
}

}  // namespace
}  // namespace kiln::vision
