// Hand-made cases with known answers for matching, AP and the per-class report. Note that
// Ultralytics' 101-point interpolation gives a perfect class 0.995, not 1.0: the recall
// point 1.0 reads the envelope's sentinel 0, so the last 1% step is a half trapezoid.
#include <gtest/gtest.h>

#include "eval/average_precision.h"
#include "eval/detect_metrics.h"
#include "eval/matching.h"

namespace kiln::eval {
namespace {

using vision::BoxXyxy;

constexpr double kPerfectAp = 0.995;

// One image: predictions (class, conf, box) against ground truth (class, box).
struct Obj {
  int cls;
  float conf;
  BoxXyxy box;
};

ImageMatches image(const std::vector<Obj>& preds, const std::vector<Obj>& gts) {
  std::vector<BoxXyxy> pb, gb;
  std::vector<int> pc, gc;
  std::vector<float> conf;
  for (const auto& p : preds) pb.push_back(p.box), pc.push_back(p.cls), conf.push_back(p.conf);
  for (const auto& g : gts) gb.push_back(g.box), gc.push_back(g.cls);
  return match_image(pc, conf, gc, box_iou_matrix(gb, pb));
}

MetricsReport run(const std::vector<ImageMatches>& images) {
  MetricsAccumulator acc;
  for (const auto& im : images) acc.add(im);
  return acc.report({"a", "b", "c"});
}

TEST(EvalMatching, IouThresholdsAreTheTenCocoValues) {
  const auto& t = iou_thresholds();
  for (int i = 0; i < kNumIouThresholds; ++i) EXPECT_NEAR(t[i], 0.5 + 0.05 * i, 1e-7);
}

TEST(EvalMatching, BoxIouOfKnownOverlap) {
  const BoxXyxy a{0, 0, 100, 100}, b{50, 0, 150, 100};
  const std::vector<float> iou = box_iou_matrix(std::vector<BoxXyxy>{a}, std::vector<BoxXyxy>{b, a});
  EXPECT_NEAR(iou[0], 1.0 / 3.0, 1e-6);
  EXPECT_NEAR(iou[1], 1.0, 1e-6);
}

TEST(EvalMetrics, PerfectPredictionsGiveFullApAtEveryThreshold) {
  const BoxXyxy b1{10, 10, 50, 60}, b2{100, 100, 200, 150}, b3{5, 80, 40, 120};
  MetricsReport r = run({image({{0, 0.9f, b1}, {1, 0.8f, b2}}, {{0, 0, b1}, {1, 0, b2}}),
                         image({{0, 0.7f, b3}}, {{0, 0, b3}})});
  ASSERT_EQ(r.classes.size(), 2u);
  EXPECT_NEAR(r.all.map50, kPerfectAp, 1e-12);
  EXPECT_NEAR(r.all.map50_95, kPerfectAp, 1e-12);
  EXPECT_NEAR(r.all.precision, 1.0, 1e-9);
  EXPECT_NEAR(r.all.recall, 1.0, 1e-9);
  EXPECT_EQ(r.all.instances, 3);
  EXPECT_EQ(r.all.images, 2);
  EXPECT_EQ(r.classes[0].images, 2);  // class a is in both images
  EXPECT_EQ(r.classes[1].images, 1);
}

TEST(EvalMetrics, ShiftedBoxIsTruePositiveUpToItsIou) {
  // Shifting a 100x100 box by dx gives IoU (100 - dx) / (100 + dx): 0.725 here, a TP at
  // the thresholds 0.50..0.70 (five of ten) and a FP above.
  const float dx = 100.f * (1 - 0.725f) / 1.725f;
  ImageMatches m = image({{0, 0.9f, {dx, 0, 100 + dx, 100}}}, {{0, 0, {0, 0, 100, 100}}});
  ASSERT_EQ(m.tp.size(), 1u);
  for (int t = 0; t < kNumIouThresholds; ++t) EXPECT_EQ(m.tp[0][t], t < 5) << "threshold " << t;
  MetricsReport r = run({m});
  EXPECT_NEAR(r.all.map50, kPerfectAp, 1e-12);
  EXPECT_NEAR(r.all.map50_95, kPerfectAp * 5 / 10, 1e-12);
}

TEST(EvalMetrics, DuplicatePredictionIsAFalsePositive) {
  // Two objects; the first is found twice. TP, FP, TP: recall .5 .5 1, precision 1 .5 2/3.
  // Envelope 1 up to recall .5, then 2/3: AP = .49 + .01 * (1 + 2/3) / 2 + .49 * 2/3 + .01 * (2/3) / 2.
  const BoxXyxy g0{0, 0, 50, 50}, g1{100, 100, 160, 170};
  ImageMatches m = image({{0, 0.9f, g0}, {0, 0.8f, g0}, {0, 0.7f, g1}}, {{0, 0, g0}, {0, 0, g1}});
  ASSERT_EQ(m.tp.size(), 3u);
  EXPECT_TRUE(m.tp[0][0]);
  EXPECT_FALSE(m.tp[1][0]);
  EXPECT_TRUE(m.tp[2][0]);
  const double expected = 0.49 + 0.01 * (1 + 2.0 / 3) / 2 + 0.49 * 2.0 / 3 + 0.01 * (2.0 / 3) / 2;
  EXPECT_NEAR(run({m}).all.map50, expected, 1e-12);
}

TEST(EvalMetrics, EachObjectMatchesTheEarliestPredictionThatChoseIt) {
  // Prediction 0 (higher confidence) overlaps the object less than prediction 1 does; both
  // pick the object as their best, and the object keeps the earlier prediction.
  const BoxXyxy g{0, 0, 100, 100};
  ImageMatches m = image({{0, 0.9f, {10, 0, 110, 100}}, {0, 0.8f, {2, 0, 102, 100}}}, {{0, 0, g}});
  EXPECT_TRUE(m.tp[0][0]);
  EXPECT_FALSE(m.tp[1][0]);
}

TEST(EvalMetrics, PredictionOfAnotherClassNeverMatches) {
  const BoxXyxy g{0, 0, 100, 100};
  ImageMatches m = image({{1, 0.9f, g}}, {{0, 0, g}});
  EXPECT_FALSE(m.tp[0][0]);
  MetricsReport r = run({m});
  ASSERT_EQ(r.classes.size(), 1u);  // class b has no ground truth: not reported
  EXPECT_EQ(r.classes[0].class_id, 0);
  EXPECT_EQ(r.all.map50, 0.0);
}

TEST(EvalMetrics, EmptyImagesCountAsImagesAndTheirPredictionsAsFalsePositives) {
  const BoxXyxy g{0, 0, 100, 100};
  // A prediction on an image without objects outranks the true one: precision 0 then .5,
  // recall 0 then 1: envelope .5 everywhere below recall 1: AP = .99 * .5 + .01 * .5 / 2.
  MetricsReport r = run({image({{0, 0.8f, g}}, {{0, 0, g}}), image({{0, 0.95f, g}}, {}), image({}, {})});
  EXPECT_EQ(r.all.images, 3);
  EXPECT_EQ(r.all.instances, 1);
  EXPECT_NEAR(r.all.map50, 0.99 * 0.5 + 0.01 * 0.5 / 2, 1e-12);
}

TEST(EvalMetrics, MissedObjectsCapRecall) {
  // Two objects, one found: recall reaches .5: AP = .49 + .01 * (1 + 0) / 2.
  const BoxXyxy g{0, 0, 100, 100};
  MetricsReport r = run({image({{0, 0.8f, g}}, {{0, 0, g}}), image({}, {{0, 0, g}})});
  EXPECT_NEAR(r.all.map50, 0.495, 1e-12);
  EXPECT_EQ(r.all.instances, 2);
}

TEST(EvalMetrics, ClassesOnlyPredictedDoNotLowerTheMean) {
  const BoxXyxy g{0, 0, 100, 100};
  MetricsReport r = run({image({{0, 0.8f, g}, {2, 0.9f, {200, 200, 300, 300}}}, {{0, 0, g}})});
  ASSERT_EQ(r.classes.size(), 1u);
  EXPECT_NEAR(r.all.map50_95, kPerfectAp, 1e-12);
}

TEST(EvalMetrics, NoGroundTruthAtAllGivesZeros) {
  MetricsReport r = run({image({{0, 0.8f, {0, 0, 1, 1}}}, {})});
  EXPECT_TRUE(r.classes.empty());
  EXPECT_EQ(r.all.map50_95, 0.0);
}

TEST(EvalAp, InterpFollowsNumpyForDuplicateAbscissae) {
  const std::vector<double> xp{0, 0.5, 0.5, 1}, fp{1, 1, 0.5, 0};
  EXPECT_EQ(interp(0.5, xp, fp, -1, -2), 0.5);  // the last of equal abscissae
  EXPECT_EQ(interp(0.75, xp, fp, -1, -2), 0.25);
  EXPECT_EQ(interp(-0.1, xp, fp, -1, -2), -1);
  EXPECT_EQ(interp(1.1, xp, fp, -1, -2), -2);
}

}  // namespace
}  // namespace kiln::eval
