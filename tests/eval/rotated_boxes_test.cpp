// OBB val pieces against Ultralytics 8.4.50: minimum-area rectangles and ProbIoU values
// computed with ops.xyxyxyxy2xywhr (cv2.minAreaRect) and metrics.batch_probiou, and
// hand-made scenes run through rotated NMS, ProbIoU matching and AP.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "eval/detect_metrics.h"
#include "eval/rotated_boxes.h"

namespace kiln::eval {
namespace {

using vision::RotatedBox;

constexpr double kPerfectAp = 0.995;  // Ultralytics' 101-point AP of a perfect class
constexpr float kPi = std::numbers::pi_v<float>;

void expect_box(const RotatedBox& got, const RotatedBox& want, float tol) {
  EXPECT_NEAR(got.cx, want.cx, tol);
  EXPECT_NEAR(got.cy, want.cy, tol);
  EXPECT_NEAR(got.w, want.w, tol);
  EXPECT_NEAR(got.h, want.h, tol);
  EXPECT_NEAR(got.angle, want.angle, 1e-4f);
}

TEST(EvalRotated, MinAreaRectMatchesUltralytics) {
  const std::vector<std::array<float, 2>> axis{{10, 20}, {110, 20}, {110, 70}, {10, 70}};
  expect_box(min_area_rect(axis), {60, 45, 100, 50, 0}, 1e-4f);
  // The long side vertical: w and h swap and the angle becomes a quarter turn.
  const std::vector<std::array<float, 2>> tall{{10, 20}, {60, 20}, {60, 220}, {10, 220}};
  expect_box(min_area_rect(tall), {35, 120, 200, 50, 1.570796f}, 1e-4f);
  // A 120x40 rectangle turned by 30 degrees around (300, 200), corners in any order.
  const float c = std::cos(kPi / 6), s = std::sin(kPi / 6);
  std::vector<std::array<float, 2>> rot;
  for (auto [dx, dy] : {std::pair{60.f, 20.f}, {-60.f, 20.f}, {60.f, -20.f}, {-60.f, -20.f}})
    rot.push_back({300 + dx * c - dy * s, 200 + dx * s + dy * c});
  expect_box(min_area_rect(rot), {300, 200, 120, 40, 0.523599f}, 1e-3f);
  // A quadrilateral that is no rectangle (labels usually are not quite).
  const std::vector<std::array<float, 2>> skew{{100, 100}, {180, 120}, {170, 170}, {90, 160}};
  expect_box(min_area_rect(skew), {135.540543f, 136.75676f, 82.199486f, 60.827618f, 0.165149f}, 1e-3f);
}

TEST(EvalRotated, ProbIouMatrixMatchesUltralytics) {
  const std::vector<RotatedBox> gt{{300, 200, 120, 40, kPi / 6}};
  const std::vector<RotatedBox> pred{{300, 200, 120, 40, kPi / 6},
                                     {310, 200, 120, 40, kPi / 6},
                                     {300, 200, 40, 120, kPi / 6 + kPi / 2},  // the same box described the other way
                                     {300, 200, 120, 40, kPi / 6 + 0.3f}};
  const std::vector<float> iou = probiou_matrix(gt, pred);
  ASSERT_EQ(iou.size(), 4u);
  EXPECT_NEAR(iou[0], 0.9995318f, 1e-5f);
  EXPECT_NEAR(iou[1], 0.8245949f, 1e-5f);
  EXPECT_NEAR(iou[2], 0.9995318f, 1e-5f);
  EXPECT_NEAR(iou[3], 0.7361449f, 1e-4f);
}

// A model output [4 + classes + 1, anchors] holding the given boxes with one class score each.
struct Raw {
  int classes;
  std::vector<std::tuple<RotatedBox, int, float>> anchors;
  std::vector<float> data() const {
    const size_t n = anchors.size();
    std::vector<float> d((5 + classes) * n, 0.f);
    for (size_t a = 0; a < n; ++a) {
      const auto& [b, cls, score] = anchors[a];
      d[0 * n + a] = b.cx, d[1 * n + a] = b.cy, d[2 * n + a] = b.w, d[3 * n + a] = b.h;
      d[(4 + cls) * n + a] = score;
      d[(4 + classes) * n + a] = b.angle;
    }
    return d;
  }
};

ImageMatches run(const Raw& raw, const std::vector<RotatedBox>& gt, const std::vector<int>& gt_classes) {
  const std::vector<float> d = raw.data();
  std::vector<RotatedBox> pred;
  std::vector<int> cls;
  std::vector<float> conf;
  for (const auto& p : multi_label_nms_rotated(d, static_cast<int>(raw.anchors.size()), raw.classes, {})) {
    pred.push_back(p.box);
    cls.push_back(p.class_id);
    conf.push_back(p.conf);
  }
  return match_image(cls, conf, gt_classes, probiou_matrix(gt, pred));
}

const RotatedBox kShip{300, 200, 120, 40, kPi / 6}, kPlane{600, 500, 80, 80, 0.7f};

TEST(EvalRotated, PerfectRotatedPredictionsGiveFullAp) {
  MetricsAccumulator acc;
  acc.add(run({2, {{kShip, 0, 0.9f}, {kPlane, 1, 0.8f}}}, {kShip, kPlane}, {0, 1}));
  const MetricsReport r = acc.report({"ship", "plane"});
  EXPECT_NEAR(r.all.map50_95, kPerfectAp, 1e-9);
  EXPECT_NEAR(r.all.precision, 1.0, 1e-9);
  EXPECT_NEAR(r.all.recall, 1.0, 1e-9);
}

TEST(EvalRotated, ShiftedAndTurnedBoxesArePositivesUpToTheirProbIou) {
  RotatedBox shifted = kShip, turned = kShip;
  shifted.cx += 10;    // ProbIoU 0.8246: a TP at 0.50 ... 0.80 (7 of 10 thresholds)
  turned.angle += 0.3f;  // ProbIoU 0.7361: a TP at 0.50 ... 0.70 (5 of 10)
  MetricsAccumulator a, b;
  a.add(run({1, {{shifted, 0, 0.9f}}}, {kShip}, {0}));
  b.add(run({1, {{turned, 0, 0.9f}}}, {kShip}, {0}));
  EXPECT_NEAR(a.report({"ship"}).all.map50_95, kPerfectAp * 7 / 10, 1e-9);
  EXPECT_NEAR(a.report({"ship"}).all.map50, kPerfectAp, 1e-9);
  EXPECT_NEAR(b.report({"ship"}).all.map50_95, kPerfectAp * 5 / 10, 1e-9);
}

TEST(EvalRotated, NmsDropsDuplicatesOfOneClassOnly) {
  RotatedBox near = kShip;
  near.cx += 2;  // ProbIoU far above 0.7 with kShip
  const std::vector<float> d = Raw{2, {{kShip, 0, 0.9f}, {near, 0, 0.8f}, {near, 1, 0.7f}}}.data();
  const auto kept = multi_label_nms_rotated(d, 3, 2, {});
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].class_id, 0);
  EXPECT_FLOAT_EQ(kept[0].conf, 0.9f);
  EXPECT_EQ(kept[1].class_id, 1);  // another class is never suppressed
  // The surviving wrong-class box is a FP below the TP: precision drops, AP does not.
  MetricsAccumulator acc;
  acc.add(run({2, {{kShip, 0, 0.9f}, {near, 0, 0.8f}, {near, 1, 0.7f}}}, {kShip}, {0}));
  const MetricsReport r = acc.report({"ship", "plane"});
  ASSERT_EQ(r.classes.size(), 1u);  // plane is absent from the ground truth: no row, no share of the mean
  EXPECT_NEAR(r.all.map50_95, kPerfectAp, 1e-9);
}

TEST(EvalRotated, EmptyImagesAndMissedObjects) {
  MetricsAccumulator acc;
  acc.add(run({1, {{kShip, 0, 0.9f}}}, {kShip, kPlane}, {0, 0}));  // one of two ships found
  acc.add(run({1, {}}, {}, {}));                                   // nothing there, nothing predicted
  acc.add(run({1, {{kPlane, 0, 0.95f}}}, {}, {}));                 // a FP on an empty image, ranked first
  const MetricsReport r = acc.report({"ship"});
  EXPECT_EQ(r.all.images, 3);
  EXPECT_EQ(r.all.instances, 2);
  EXPECT_NEAR(r.all.recall, 0.5, 1e-6);
  // FP at 0.95, then TP at 0.9 (recall 0.5, precision 0.5): the envelope is 0.5 up to recall
  // 0.49 and 0 from 0.5 on: 49 steps of 0.01 * 0.5 plus a half step.
  EXPECT_NEAR(r.all.map50, 49 * 0.005 + 0.0025, 1e-9);
}

}  // namespace
}  // namespace kiln::eval
