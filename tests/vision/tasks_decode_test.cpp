// Hand-computed cases for the segment / pose / obb / classify decoders.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "vision/classify.h"
#include "vision/draw_tasks.h"
#include "vision/obb.h"
#include "vision/pose.h"
#include "vision/segment.h"

namespace kiln::vision {
namespace {

// A square of side sqrt(12) has covariance identity: ProbIoU of two of them at distance d
// is 1 - sqrt(1 - exp(-d^2 / 8)).
const float kUnitSide = std::sqrt(12.f);

TEST(ProbIou, IdenticalBoxesAreOne) {
  RotatedBox b{50, 60, 30, 10, 0.4f};
  // eps = 1e-7 inside the square root leaves 1 - sqrt(2e-7).
  EXPECT_NEAR(probiou(b, b), 1.0, 1e-3);
  EXPECT_GT(probiou(b, b), 0.999f);
}

TEST(ProbIou, FarApartIsZero) {
  EXPECT_NEAR(probiou({0, 0, 10, 10, 0}, {500, 500, 10, 10, 0}), 0.0, 1e-6);
}

TEST(ProbIou, KnownValue) {
  // d = 2: bd = 0.5, iou = 1 - sqrt(1 - e^-0.5) = 0.372729.
  EXPECT_NEAR(probiou({0, 0, kUnitSide, kUnitSide, 0}, {2, 0, kUnitSide, kUnitSide, 0}), 0.372729, 1e-5);
  // A square turned by a quarter has the same Gaussian; symmetric in its arguments.
  RotatedBox a{10, 10, 8, 4, 0.f}, b{12, 11, 4, 8, std::numbers::pi_v<float> / 2};
  EXPECT_NEAR(probiou(a, {12, 11, 8, 4, 0.f}), probiou(a, b), 1e-5);
  EXPECT_NEAR(probiou(a, b), probiou(b, a), 1e-6);
}

TEST(RotatedNms, FastNmsDropsBoxesSuppressedBySuppressedBoxes) {
  // A-B and B-C overlap (IoU 0.79 >= 0.7), A-C do not (0.59): greedy NMS would keep A
  // and C, Ultralytics' Fast-NMS keeps only A.
  std::vector<RotatedBox> boxes = {{0.6f, 0, kUnitSide, kUnitSide, 0}, {0, 0, kUnitSide, kUnitSide, 0},
                                   {1.2f, 0, kUnitSide, kUnitSide, 0}};
  EXPECT_GE(probiou(boxes[0], boxes[1]), 0.7f);
  EXPECT_LT(probiou(boxes[1], boxes[2]), 0.7f);
  std::vector<int> keep = nms_rotated(boxes, {0.8f, 0.9f, 0.7f}, 0.7);
  ASSERT_EQ(keep.size(), 1u);
  EXPECT_EQ(keep[0], 1);
  // Lower threshold than every overlap: nothing is suppressed, best first.
  keep = nms_rotated(boxes, {0.8f, 0.9f, 0.7f}, 0.95);
  EXPECT_EQ(keep, (std::vector<int>{1, 0, 2}));
}

TEST(RotatedNms, DecodeSeparatesClassesAndScalesBack) {
  // Two identical rotated boxes of different classes both survive; a third of class 0
  // on top of the first is suppressed. Input 640x640 from a 1280x640 image: gain 0.5,
  // pad_y 160.
  const int a = 3, nc = 2;
  std::vector<float> raw(static_cast<size_t>(4 + nc + 1) * a, 0.f);
  auto set = [&](int i, float cx, float cy, float w, float h, int cls, float score, float angle) {
    raw[0 * a + i] = cx, raw[1 * a + i] = cy, raw[2 * a + i] = w, raw[3 * a + i] = h;
    raw[(4 + cls) * a + i] = score, raw[(4 + nc) * a + i] = angle;
  };
  set(0, 100, 200, 40, 20, 0, 0.9f, 0.3f);
  set(1, 100, 200, 40, 20, 1, 0.8f, 0.3f);
  set(2, 101, 200, 40, 20, 0, 0.85f, 0.3f);
  const auto dets = decode_obb(raw, a, nc, {}, 640, 640, 640, 1280);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].class_id, 0);
  EXPECT_FLOAT_EQ(dets[0].confidence, 0.9f);
  EXPECT_EQ(dets[1].class_id, 1);
  EXPECT_FLOAT_EQ(dets[0].box.cx, 200.f);
  EXPECT_FLOAT_EQ(dets[0].box.cy, 80.f);
  EXPECT_FLOAT_EQ(dets[0].box.w, 80.f);
  EXPECT_FLOAT_EQ(dets[0].box.h, 40.f);
  EXPECT_FLOAT_EQ(dets[0].box.angle, 0.3f);
}

TEST(RotatedBoxes, RegularizeAndCorners) {
  const float pi = std::numbers::pi_v<float>;
  RotatedBox r = regularize_rbox({0, 0, 4, 2, 2.0f});
  EXPECT_FLOAT_EQ(r.w, 2.f);
  EXPECT_FLOAT_EQ(r.h, 4.f);
  EXPECT_NEAR(r.angle, 2.0f - pi / 2, 1e-6);
  r = regularize_rbox({0, 0, 4, 2, -0.3f});  // -0.3 mod pi = 2.84 >= pi/2: swapped
  EXPECT_FLOAT_EQ(r.w, 2.f);
  EXPECT_NEAR(r.angle, pi / 2 - 0.3f, 1e-6);
  r = regularize_rbox({0, 0, 4, 2, 0.5f});
  EXPECT_FLOAT_EQ(r.w, 4.f);
  EXPECT_FLOAT_EQ(r.angle, 0.5f);
  const auto c = rbox_corners({10, 10, 4, 2, 0});
  EXPECT_FLOAT_EQ(c[0][0], 12.f);
  EXPECT_FLOAT_EQ(c[0][1], 11.f);
  EXPECT_FLOAT_EQ(c[1][1], 9.f);
  EXPECT_FLOAT_EQ(c[2][0], 8.f);
  EXPECT_FLOAT_EQ(c[3][1], 11.f);
}

TEST(SegmentMask, CropRoundsHalfToEvenAndClampsAtZero) {
  std::vector<float> m(6 * 8, 1.f);
  crop_mask(m, 6, 8, {1.5f, -3.f, 4.5f, 3.6f});  // x1 = 2, y1 = 0, x2 = 4, y2 = 4
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x)
      EXPECT_EQ(m[y * 8 + x], (y < 4 && x >= 2 && x < 4) ? 1.f : 0.f) << y << "," << x;
}

TEST(SegmentMask, BilinearUpsampleAsPyTorch) {
  // 2x2 -> 4x4, align_corners=False: taps at 0, 0.25, 0.75 and the clamped last row.
  const std::vector<float> src = {0, 1, 2, 3};
  const std::vector<float> out = resize_bilinear(src, 2, 2, 4, 4);
  const float want_x[4] = {0, 0.25f, 0.75f, 1};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) EXPECT_FLOAT_EQ(out[y * 4 + x], want_x[x] + 2 * want_x[y]) << y << "," << x;
}

TEST(SegmentMask, ProcessMaskCropsAtPrototypeResolutionThenUpsamples) {
  // Logit 1 everywhere, box (0, 0, 320, 320) of a 640 input = (0, 0, 80, 80) of 160x160
  // prototypes. Upsampling blends the last kept row/column with the zeroed ones: output
  // rows 319..321 still get a positive logit, 322 does not -> 322 x 322 pixels.
  std::vector<float> protos(2 * 160 * 160, 0.f);
  std::fill(protos.begin(), protos.begin() + 160 * 160, 1.f);
  const std::vector<float> coeffs = {1.f, 5.f};
  Mask mask = process_mask({protos, 2, 160, 160}, coeffs, {0, 0, 320, 320}, 640, 640);
  EXPECT_EQ(mask.width, 640);
  EXPECT_EQ(mask.height, 640);
  EXPECT_EQ(mask.area(), 322 * 322);
  EXPECT_EQ(mask.pixels[321 * 640 + 321], 1);
  EXPECT_EQ(mask.pixels[322 * 640 + 10], 0);
  // Negative logits: empty mask.
  const std::vector<float> negative = {-1.f, 0.f};
  EXPECT_EQ(process_mask({protos, 2, 160, 160}, negative, {0, 0, 320, 320}, 640, 640).area(), 0);
}

TEST(SegmentMask, MaskToImageRemovesPaddingAndResizes) {
  // 8x8 input letterboxed from a 4x8 image (gain 1, pad_y 2): rows 2..5 are the image.
  Mask m{8, 8, std::vector<uint8_t>(64, 0)};
  for (int x = 0; x < 8; ++x) m.pixels[3 * 8 + x] = 1;  // image row 1
  Mask img = mask_to_image(m, 4, 8);
  ASSERT_EQ(img.width, 8);
  ASSERT_EQ(img.height, 4);
  for (int y = 0; y < 4; ++y) EXPECT_EQ(img.pixels[y * 8 + 3], y == 1 ? 1 : 0) << y;
  // Doubling the size keeps the row, two pixels high.
  EXPECT_EQ(mask_to_image(m, 8, 16).area(), 2 * 16);
}

TEST(PoseKeypoints, ScaledWithUnroundedPaddingAndClipped) {
  // 640x301 into 640x640: gain 1, pad_y = (640 - 301) / 2 = 169.5 for keypoints; boxes
  // use round(169.5 - 0.1) = 169.
  Keypoint k = scale_keypoint({20.f, 179.5f, 0.7f}, 640, 640, 301, 640);
  EXPECT_FLOAT_EQ(k.x, 20.f);
  EXPECT_FLOAT_EQ(k.y, 10.f);
  EXPECT_FLOAT_EQ(k.confidence, 0.7f);
  EXPECT_FLOAT_EQ(scale_box({0, 179.5f, 10, 179.5f}, 640, 640, 301, 640)[1], 10.5f);
  // bus.jpg geometry: 810x1080 at 640: gain 640/1080, pad_x 80; outside points clip.
  const float g = 640.f / 1080.f;
  k = scale_keypoint({80 + 100 * g, 50 * g, 1.f}, 640, 640, 1080, 810);
  EXPECT_NEAR(k.x, 100.f, 1e-3);
  EXPECT_NEAR(k.y, 50.f, 1e-3);
  k = scale_keypoint({700.f, -5.f, 1.f}, 640, 640, 1080, 810);
  EXPECT_FLOAT_EQ(k.x, 810.f);
  EXPECT_FLOAT_EQ(k.y, 0.f);
}

TEST(PoseKeypoints, DecodeReadsTheKeptAnchorsKeypoints) {
  // 2 anchors, 1 class, 2 keypoints x 3; the second anchor wins.
  const int a = 2;
  std::vector<float> raw(static_cast<size_t>(4 + 1 + 6) * a, 0.f);
  auto set = [&](int c, int i, float v) { raw[c * a + i] = v; };
  for (int i = 0; i < 2; ++i) set(0, i, 100), set(1, i, 100), set(2, i, 20), set(3, i, 40);
  set(4, 0, 0.5f), set(4, 1, 0.9f);
  for (int c = 5; c < 11; ++c) set(c, 1, static_cast<float>(c));  // kpt0 = (5, 6, 7), kpt1 = (8, 9, 10)
  const auto dets = decode_pose(raw, a, 1, 2, 3, {}, 640, 640, 640, 640);
  ASSERT_EQ(dets.size(), 1u);
  ASSERT_EQ(dets[0].keypoints.size(), 2u);
  EXPECT_FLOAT_EQ(dets[0].detection.confidence, 0.9f);
  EXPECT_FLOAT_EQ(dets[0].keypoints[1].x, 8.f);
  EXPECT_FLOAT_EQ(dets[0].keypoints[1].y, 9.f);
  EXPECT_FLOAT_EQ(dets[0].keypoints[1].confidence, 10.f);
}

TEST(ClassifyTopK, OrderedByProbabilityTiesByClassId) {
  const std::vector<float> p = {0.1f, 0.3f, 0.05f, 0.3f, 0.2f, 0.05f};
  const auto top = top_k(p, 5);
  ASSERT_EQ(top.size(), 5u);
  const int want[5] = {1, 3, 4, 0, 2};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(top[i].class_id, want[i]) << i;
  EXPECT_FLOAT_EQ(top[2].confidence, 0.2f);
  EXPECT_EQ(top_k(p, 10).size(), 6u);
  std::vector<float> logits = {1.f, 2.f, 3.f};
  softmax(logits);
  EXPECT_NEAR(logits[2], std::exp(3.f) / (std::exp(1.f) + std::exp(2.f) + std::exp(3.f)), 1e-6);
  EXPECT_EQ(top_k(logits, 1)[0].class_id, 2);
}

TEST(ClassifyCrop, ShortestSideThenCenter) {
  // 40x20 (landscape) at size 10: resized to 20x10, then columns 5..14 are the crop.
  Image img(40, 20);
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 40; ++x) img.row(y)[3 * x] = static_cast<uint8_t>(x < 20 ? 0 : 200);
  Image out = classify_crop(img, 10);
  ASSERT_EQ(out.width, 10);
  ASSERT_EQ(out.height, 10);
  EXPECT_EQ(out.row(5)[0], 0);        // left half of the center crop comes from x < 20
  EXPECT_EQ(out.row(5)[3 * 9], 200);  // right edge from x >= 20
}

TEST(TaskDrawing, MaskBlendLineAndCircle) {
  Image img(10, 10, 100);
  Mask m{10, 10, std::vector<uint8_t>(100, 0)};
  m.pixels[5 * 10 + 5] = 1;
  blend_mask(img, m, {0, 0, 200}, 0.5f);
  EXPECT_EQ(img.row(5)[15], 50);
  EXPECT_EQ(img.row(5)[17], 150);
  EXPECT_EQ(img.row(4)[17], 100);
  draw_line(img, 0, 2, 9, 2, {1, 2, 3}, 1);
  for (int x = 0; x < 10; ++x) EXPECT_EQ(img.row(2)[3 * x + 2], 3) << x;
  EXPECT_EQ(img.row(3)[2], 100);
  fill_circle(img, 7, 7, 1.f, {9, 9, 9});
  EXPECT_EQ(img.row(7)[21], 9);
  EXPECT_EQ(img.row(6)[21], 9);
  EXPECT_EQ(img.row(6)[18], 100);  // (6, 6) is sqrt(2) away
}

}  // namespace
}  // namespace kiln::vision
