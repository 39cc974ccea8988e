// OKS against hand-computed values: exp(-d^2 / (2 (2 sigma)^2 area)) averaged over the
// labelled keypoints, area = 0.53 * box area.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/detect_metrics.h"
#include "eval/keypoint_similarity.h"

namespace kiln::eval {
namespace {

TEST(EvalOks, CocoSigmasAndUniformFallback) {
  const auto coco = keypoint_sigmas(17);
  ASSERT_EQ(coco.size(), 17u);
  EXPECT_FLOAT_EQ(coco[0], 0.026f);   // nose
  EXPECT_FLOAT_EQ(coco[11], 0.107f);  // left hip
  const auto other = keypoint_sigmas(4);
  ASSERT_EQ(other.size(), 4u);
  EXPECT_FLOAT_EQ(other[2], 0.25f);
}

TEST(EvalOks, HandComputedTwoKeypoints) {
  // Box 100 x 50: area 5000 * 0.53 = 2650. Sigmas 0.5 each (two keypoints): (2 sigma)^2 = 1.
  // Keypoint 0 off by (3, 4): e = 25 / (1 * 2650 * 2); keypoint 1 exact: e = 0.
  const std::vector<vision::BoxXyxy> boxes{{0, 0, 100, 50}};
  const std::vector<float> gt{10, 10, 2, 50, 20, 1};
  const std::vector<float> pred{13, 14, 0.9f, 50, 20, 0.8f,   // close
                                10, 10, 0.9f, 90, 45, 0.1f};  // keypoint 1 far off
  const std::vector<float> sigmas{0.5f, 0.5f};
  const std::vector<float> oks = oks_matrix(gt, boxes, pred, 2, 3, sigmas);
  ASSERT_EQ(oks.size(), 2u);
  EXPECT_NEAR(oks[0], (std::exp(-25.0 / 5300.0) + 1.0) / 2.0, 1e-6);
  const double d2 = 40.0 * 40.0 + 25.0 * 25.0;
  EXPECT_NEAR(oks[1], (1.0 + std::exp(-d2 / 5300.0)) / 2.0, 1e-6);
}

TEST(EvalOks, UnlabelledKeypointsAreIgnored) {
  const std::vector<vision::BoxXyxy> boxes{{0, 0, 100, 50}};
  const std::vector<float> gt{10, 10, 2, 0, 0, 0};  // keypoint 1 not labelled
  const std::vector<float> pred{10, 10, 500, 500};   // two-value predictions
  const std::vector<float> oks = oks_matrix(gt, boxes, pred, 2, 2, std::vector<float>{0.5f, 0.5f});
  EXPECT_NEAR(oks[0], 1.0, 1e-6);
}

TEST(EvalOks, PoseMatchingUsesOksThresholds) {
  // One person whose single keypoint is predicted with OKS exp(-e) = 0.72: a TP at
  // thresholds 0.50..0.70, as a box with IoU 0.72 would be.
  const std::vector<vision::BoxXyxy> boxes{{0, 0, 100, 100}};
  const double area = 10000 * 0.53, e = -std::log(0.72);
  const float d = static_cast<float>(std::sqrt(e * 2 * area * 1.0));  // sigma 0.5: (2 sigma)^2 = 1
  const std::vector<float> gt{50, 50, 2};
  const std::vector<float> pred{50 + d, 50};
  const std::vector<float> oks = oks_matrix(gt, boxes, pred, 1, 2, std::vector<float>{0.5f});
  EXPECT_NEAR(oks[0], 0.72, 1e-5);
  const std::vector<int> cls{0};
  const std::vector<float> conf{0.9f};
  ImageMatches m = match_image(cls, conf, cls, oks);
  for (int t = 0; t < kNumIouThresholds; ++t) EXPECT_EQ(m.tp[0][t], t < 5) << "threshold " << t;
}

}  // namespace
}  // namespace kiln::eval
