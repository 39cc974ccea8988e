#include <gtest/gtest.h>

#include "vision/draw.h"

namespace kiln::vision {
namespace {

TEST(Draw, BoxAndLabelPixels) {
  Image img(200, 100, 0);
  std::vector<Detection> dets = {{0, 0.87f, {50.f, 40.f, 150.f, 90.f}}};
  draw_detections(img, dets, {"person"});
  Bgr c = class_color(0);
  const uint8_t* edge = img.row(60) + 3 * 50;  // left edge of the box
  EXPECT_EQ(edge[0], c.b);
  EXPECT_EQ(edge[1], c.g);
  EXPECT_EQ(edge[2], c.r);
  const uint8_t* inside = img.row(65) + 3 * 100;  // box interior stays untouched
  EXPECT_EQ(inside[0] + inside[1] + inside[2], 0);
  // The label sits above the box and contains white text pixels.
  int white = 0;
  for (int y = 0; y < 40; ++y)
    for (int x = 50; x < 200; ++x)
      if (img.row(y)[3 * x] == 255 && img.row(y)[3 * x + 1] == 255 && img.row(y)[3 * x + 2] == 255) ++white;
  EXPECT_GT(white, 20);
}

TEST(Draw, ClassColorsDiffer) {
  Bgr a = class_color(0), b = class_color(1);
  EXPECT_FALSE(a.b == b.b && a.g == b.g && a.r == b.r);
  Bgr wrap = class_color(20);
  EXPECT_TRUE(wrap.b == a.b && wrap.g == a.g && wrap.r == a.r);
}

TEST(Draw, BoxesOutsideTheImageAreClipped) {
  Image img(10, 10, 0);
  draw_detections(img, {{3, 0.5f, {-20.f, -20.f, 5.f, 5.f}}}, {});
  Bgr c = class_color(3);
  EXPECT_EQ(img.row(2)[3 * 4 + 2], c.r);  // the visible part of the right edge (x 3..4)
  EXPECT_EQ(img.row(8)[3 * 8 + 2], 0);    // beyond the box: untouched
}

}  // namespace
}  // namespace kiln::vision
