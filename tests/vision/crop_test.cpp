// Crop geometry against hand-computed cases: regions (grown, truncated, clamped), their
// placement in a stage input (stretched, letterboxed), the fitted pixels and the mapping
// of stage coordinates back to the frame.
#include "vision/crop.h"

#include <gtest/gtest.h>

namespace kiln::vision {
namespace {

void expect_region(const CropRegion& r, int x1, int y1, int x2, int y2) {
  EXPECT_EQ(r.x1, x1);
  EXPECT_EQ(r.y1, y1);
  EXPECT_EQ(r.x2, x2);
  EXPECT_EQ(r.y2, y2);
}

TEST(CropRegion, PlainBoxTruncatesToPixels) {
  expect_region(crop_region({10.7f, 20.2f, 50.9f, 80.5f}, 100, 100, 1.0, 0.0), 10, 20, 50, 80);
}

TEST(CropRegion, SaveOneBoxGainAndPad) {
  // w = 40 * 1.02 + 10 = 50.8, h = 60 * 1.02 + 10 = 71.2 about (30, 50):
  // x 4.6 .. 55.4, y 14.4 .. 85.6, truncated.
  expect_region(crop_region({10, 20, 50, 80}, 100, 100, 1.02, 10.0), 4, 14, 55, 85);
}

TEST(CropRegion, PaddingFractionGrowsEachSide) {
  // padding 0.25 per side = gain 1.5: 40 x 60 -> 60 x 90 about (30, 50).
  expect_region(crop_region({10, 20, 50, 80}, 100, 100, 1.5, 0.0), 0, 5, 60, 95);
}

TEST(CropRegion, ClampedToTheImage) {
  expect_region(crop_region({-5, 90, 20, 120}, 100, 100, 1.0, 0.0), 0, 90, 20, 100);
  EXPECT_TRUE(crop_region({120, 10, 150, 20}, 100, 100, 1.0, 0.0).empty());
}

TEST(PlaceCrop, ResizeStretchesEachAxis) {
  const CropPlacement p = place_crop({20, 30, 60, 90}, CropFit::kResize, 128, 256);
  EXPECT_FLOAT_EQ(p.scale_x, 128.0f / 40);
  EXPECT_FLOAT_EQ(p.scale_y, 256.0f / 60);
  EXPECT_EQ(p.pad_x, 0);
  EXPECT_EQ(p.pad_y, 0);
  const FramePoint c = point_to_frame(p, 64, 128);  // the input's center is the region's
  EXPECT_FLOAT_EQ(c.x, 40);
  EXPECT_FLOAT_EQ(c.y, 60);
  const FramePoint end = point_to_frame(p, 128, 256);
  EXPECT_FLOAT_EQ(end.x, 60);
  EXPECT_FLOAT_EQ(end.y, 90);
}

TEST(PlaceCrop, LetterboxKeepsTheAspectRatioAndCenters) {
  // 200 x 100 into 416 x 416: r = 2.08, resized 416 x 208, dh = 104 -> pad_top round(103.9).
  const CropPlacement p = place_crop({300, 50, 500, 150}, CropFit::kLetterbox, 416, 416);
  EXPECT_FLOAT_EQ(p.scale_x, 2.08f);
  EXPECT_FLOAT_EQ(p.scale_y, 2.08f);
  EXPECT_EQ(p.pad_x, 0);
  EXPECT_EQ(p.pad_y, 104);
  const FramePoint a = point_to_frame(p, 0, 104);
  EXPECT_FLOAT_EQ(a.x, 300);
  EXPECT_FLOAT_EQ(a.y, 50);
  const FramePoint b = point_to_frame(p, 208, 208);  // 104 px into the content: 50 frame px
  EXPECT_FLOAT_EQ(b.x, 400);
  EXPECT_FLOAT_EQ(b.y, 100);
}

TEST(PlaceCrop, PointsInThePaddingClampToTheRegion) {
  const CropPlacement p = place_crop({300, 50, 500, 150}, CropFit::kLetterbox, 416, 416);
  const FramePoint top = point_to_frame(p, 10, 0);  // in the gray band above the content
  EXPECT_FLOAT_EQ(top.y, 50);
  const FramePoint bottom = point_to_frame(p, 416, 416);
  EXPECT_FLOAT_EQ(bottom.x, 500);
  EXPECT_FLOAT_EQ(bottom.y, 150);
}

TEST(PlaceCrop, BoxesUseRoundedPadsKeypointsUnrounded) {
  // 100 x 61 into 64 x 64: gain 0.64, resized height round(39.04) = 39, dh = 12.5: boxes
  // take pad round(12.4) = 12 (scale_boxes), keypoints 12.5 (scale_coords).
  const CropPlacement p = place_crop({10, 20, 110, 81}, CropFit::kLetterbox, 64, 64);
  const BoxXyxy b = box_to_frame(p, {0, 12, 64, 51});
  EXPECT_FLOAT_EQ(b[0], 10);
  EXPECT_FLOAT_EQ(b[1], 20);
  EXPECT_FLOAT_EQ(b[2], 110);
  EXPECT_FLOAT_EQ(b[3], 20 + 39 / 0.64f);  // (51 - 12) / 0.64 = 60.94, inside the 61 rows
  const FramePoint k = point_to_frame(p, 32, 12.5f);
  EXPECT_FLOAT_EQ(k.x, 60);
  EXPECT_FLOAT_EQ(k.y, 20);
}

TEST(PlaceCrop, ResizedBoxesDivideByTheStretchAndClip) {
  const CropPlacement p = place_crop({20, 30, 60, 90}, CropFit::kResize, 128, 256);
  const BoxXyxy b = box_to_frame(p, {32, 64, 200, 128});
  EXPECT_FLOAT_EQ(b[0], 30);
  EXPECT_FLOAT_EQ(b[1], 45);
  EXPECT_FLOAT_EQ(b[2], 60);  // 200 / 3.2 = 62.5 clipped to the crop's 40 columns
  EXPECT_FLOAT_EQ(b[3], 60);
}

// A 6 x 4 frame whose pixel (x, y) is (x, y, 7).
Image numbered_frame() {
  Image img(6, 4);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x) {
      uint8_t* px = img.row(y) + x * 3;
      px[0] = static_cast<uint8_t>(x), px[1] = static_cast<uint8_t>(y), px[2] = 7;
    }
  return img;
}

TEST(FitCrop, ResizeToTheRegionSizeCopiesItsPixels) {
  const Image frame = numbered_frame();
  const Image got = fit_crop(frame, place_crop({2, 1, 5, 3}, CropFit::kResize, 3, 2));
  ASSERT_EQ(got.width, 3);
  ASSERT_EQ(got.height, 2);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) {
      EXPECT_EQ(got.row(y)[x * 3], x + 2);
      EXPECT_EQ(got.row(y)[x * 3 + 1], y + 1);
    }
}

TEST(FitCrop, LetterboxPadsWithGray) {
  // A 2 x 1 region into 2 x 2: ratio 1, dh = 0.5 -> pad_top round(0.4) = 0; row 1 is padding.
  const Image frame = numbered_frame();
  const CropPlacement p = place_crop({3, 2, 5, 3}, CropFit::kLetterbox, 2, 2);
  EXPECT_EQ(p.pad_y, 0);
  const Image got = fit_crop(frame, p);
  ASSERT_EQ(got.height, 2);
  EXPECT_EQ(got.row(0)[0], 3);
  EXPECT_EQ(got.row(0)[3], 4);
  EXPECT_EQ(got.row(0)[1], 2);
  for (int k = 0; k < 6; ++k) EXPECT_EQ(got.row(1)[k], 114);
}

}  // namespace
}  // namespace kiln::vision
