// Segment val masks: polygon resampling, the 4x-shrunk filled polygon, overlap layering,
// predicted masks from prototypes, mask IoU, and hand-made scenes through matching and AP.
#include <gtest/gtest.h>

#include <numeric>

#include "eval/detect_metrics.h"
#include "eval/segment_masks.h"

namespace kiln::eval {
namespace {

constexpr double kPerfectAp = 0.995;

long count(const std::vector<uint8_t>& m) { return std::accumulate(m.begin(), m.end(), 0L); }

TEST(EvalSegmentMasks, ResampleKeepsTheVerticesAndReachesTheCount) {
  const Polygon square{{0, 0}, {10, 0}, {10, 10}, {0, 10}};
  const Polygon r = resample_polygon(square, 1000);
  ASSERT_EQ(r.size(), 1000u);  // 995 spaced points plus the 5 vertices of the closed polygon
  EXPECT_EQ(r.front(), (std::array<float, 2>{0, 0}));
  EXPECT_EQ(r.back(), (std::array<float, 2>{0, 0}));
  int vertices = 0;
  for (const auto& p : r)
    for (const auto& v : square) vertices += p == v;
  EXPECT_GE(vertices, 5);
  for (const auto& p : r) {  // every point lies on the square's outline
    const bool on_edge = p[0] == 0 || p[0] == 10 || p[1] == 0 || p[1] == 10;
    EXPECT_TRUE(on_edge) << p[0] << "," << p[1];
  }
}

TEST(EvalSegmentMasks, FilledRectangleShrunkFourTimes) {
  // Pixels 8..23 x 4..19 filled (boundary included) on a 32x32 input: 8x8 output, each
  // output pixel reads input pixels 4o+1 and 4o+2 per axis.
  const std::vector<uint8_t> m = polygon_mask({{8, 4}, {23, 4}, {23, 19}, {8, 19}}, 32, 32, 4);
  ASSERT_EQ(m.size(), 64u);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) {
      const bool inside = x >= 2 && x <= 5 && y >= 1 && y <= 4;
      EXPECT_EQ(m[y * 8 + x], inside ? 1 : 0) << x << "," << y;
    }
  // A triangle covers about half its bounding square.
  const std::vector<uint8_t> t = polygon_mask({{0, 0}, {63, 0}, {0, 63}}, 64, 64, 4);
  EXPECT_NEAR(static_cast<double>(count(t)), 16 * 16 / 2.0, 12);
}

TEST(EvalSegmentMasks, SmallerObjectsCoverLargerOnes) {
  std::vector<uint8_t> big(16, 1), small(16, 0);
  small[5] = small[6] = 1;
  const auto layered = layer_overlapping({small, big});
  EXPECT_EQ(layered[0], small);  // the small one keeps its pixels
  EXPECT_EQ(count(layered[1]), 14);
  EXPECT_EQ(layered[1][5], 0);
}

TEST(EvalSegmentMasks, PredictionMaskIsPositiveLogitsInsideTheBox) {
  // Two prototype planes on 4x4; coefficients (1, -1): logit = p0 - p1.
  std::vector<float> protos(32, 0.f);
  for (int i = 0; i < 16; ++i) protos[i] = 1.f;  // p0 = 1 everywhere
  protos[16 + 0] = 2.f;                          // p1 beats p0 at pixel (0, 0)
  const std::vector<float> coef{1.f, -1.f};
  // Box in 16x16 input pixels (0, 0)-(12, 8) -> prototype (0, 0)-(3, 2).
  const auto m = prediction_mask(protos, 2, 4, 4, coef, {0, 0, 12, 8}, 16, 16, false);
  const std::vector<uint8_t> want{0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(m, want);
  // Rounded crop: (0, 0)-(2.5, 1.5) rounds half to even to (0, 0)-(2, 2).
  const auto r = prediction_mask(protos, 2, 4, 4, coef, {0, 0, 10, 6}, 16, 16, true);
  const std::vector<uint8_t> want_r{0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(r, want_r);
}

TEST(EvalSegmentMasks, MaskIouOfKnownOverlap) {
  std::vector<uint8_t> a(16, 0), b(16, 0);
  for (int i = 0; i < 8; ++i) a[i] = 1;      // rows 0-1
  for (int i = 4; i < 12; ++i) b[i] = 1;     // rows 1-2
  const auto iou = mask_iou_matrix({a, b}, {b});
  EXPECT_NEAR(iou[0], 4.0 / 12.0, 1e-6);
  EXPECT_NEAR(iou[1], 1.0, 1e-6);
}

TEST(EvalSegmentMasks, PerfectShiftedAndDuplicateMasksThroughAp) {
  std::vector<uint8_t> g(100, 0), shifted(100, 0);
  for (int y = 2; y < 8; ++y)
    for (int x = 2; x < 8; ++x) g[y * 10 + x] = 1, shifted[y * 10 + x + 1] = 1;  // IoU 30 / 42 = 0.714
  MetricsAccumulator perfect, moved, dup;
  perfect.add(match_image(std::vector<int>{0}, std::vector<float>{0.9f}, std::vector<int>{0}, mask_iou_matrix({g}, {g})));
  moved.add(match_image(std::vector<int>{0}, std::vector<float>{0.9f}, std::vector<int>{0}, mask_iou_matrix({g}, {shifted})));
  dup.add(match_image(std::vector<int>{0, 0}, std::vector<float>{0.9f, 0.8f}, std::vector<int>{0},
                      mask_iou_matrix({g}, {g, g})));
  EXPECT_NEAR(perfect.report({"a"}).all.map50_95, kPerfectAp, 1e-9);
  EXPECT_NEAR(moved.report({"a"}).all.map50_95, kPerfectAp * 5 / 10, 1e-9);  // TP at 0.50 ... 0.70
  EXPECT_NEAR(dup.report({"a"}).all.map50_95, kPerfectAp, 1e-9);  // the duplicate ranks below the TP
  // but is a FP: precision, read on the smoothed F1 curve, falls between 1/2 and 1.
  EXPECT_GT(dup.report({"a"}).all.precision, 0.5);
  EXPECT_LT(dup.report({"a"}).all.precision, 0.99);
}

}  // namespace
}  // namespace kiln::eval
