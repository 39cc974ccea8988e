#include "vision/detect.h"

#include <gtest/gtest.h>

#include "vision/nms.h"

namespace kiln::vision {
namespace {

// Builds a [4 + nc, A] raw output from per-anchor (cx, cy, w, h, class, score).
struct Anchor {
  float cx, cy, w, h;
  int cls;
  float score;
};

std::vector<float> make_raw(const std::vector<Anchor>& anchors, int nc) {
  const int a = static_cast<int>(anchors.size());
  std::vector<float> raw(static_cast<size_t>(4 + nc) * a, 0.f);
  for (int i = 0; i < a; ++i) {
    const Anchor& an = anchors[i];
    raw[0 * a + i] = an.cx, raw[1 * a + i] = an.cy, raw[2 * a + i] = an.w, raw[3 * a + i] = an.h;
    raw[static_cast<size_t>(4 + an.cls) * a + i] = an.score;
  }
  return raw;
}

std::vector<Candidate> run(const std::vector<Anchor>& anchors, int nc, const NmsOptions& opt = {}) {
  std::vector<float> raw = make_raw(anchors, nc);
  return select_candidates(raw, static_cast<int>(anchors.size()), nc, opt);
}

TEST(Nms, IouOfHandBoxes) {
  EXPECT_FLOAT_EQ(box_iou({0, 0, 10, 10}, {5, 0, 15, 10}), 50.f / 150.f);
  EXPECT_FLOAT_EQ(box_iou({0, 0, 10, 10}, {20, 20, 30, 30}), 0.f);
  EXPECT_FLOAT_EQ(box_iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.f);
}

TEST(Nms, OverlappingSameClassKeepsBest) {
  // IoU of the two boxes = 90/110 = 0.818 > 0.7.
  auto c = run({{50, 50, 20, 10, 0, 0.6f}, {51, 50, 20, 10, 0, 0.9f}}, 2);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].anchor, 1);
  EXPECT_FLOAT_EQ(c[0].score, 0.9f);
  EXPECT_FLOAT_EQ(c[0].box[0], 41.f);
  EXPECT_FLOAT_EQ(c[0].box[1], 45.f);
  EXPECT_FLOAT_EQ(c[0].box[2], 61.f);
  EXPECT_FLOAT_EQ(c[0].box[3], 55.f);
}

TEST(Nms, SameBoxesDifferentClassesBothKept) {
  auto c = run({{50, 50, 20, 10, 0, 0.6f}, {50, 50, 20, 10, 1, 0.9f}}, 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].class_id, 1);  // best first
  EXPECT_EQ(c[1].class_id, 0);
  NmsOptions agnostic;
  agnostic.agnostic = true;
  EXPECT_EQ(run({{50, 50, 20, 10, 0, 0.6f}, {50, 50, 20, 10, 1, 0.9f}}, 2, agnostic).size(), 1u);
}

TEST(Nms, IouExactlyAtThresholdIsKept) {
  // [0,10]x[0,10] vs [0,10]x[5,15]: inter 50, union 150 -> IoU 1/3; vs [0,10]x[0,20]: 100/200 = 0.5.
  NmsOptions opt;
  opt.iou = 0.5;
  auto c = run({{5, 5, 10, 10, 0, 0.9f}, {5, 10, 10, 20, 0, 0.8f}}, 1, opt);
  EXPECT_EQ(c.size(), 2u) << "IoU == threshold must not suppress (strictly greater does)";
  opt.iou = 0.49;
  EXPECT_EQ(run({{5, 5, 10, 10, 0, 0.9f}, {5, 10, 10, 20, 0, 0.8f}}, 1, opt).size(), 1u);
}

TEST(Nms, ConfidenceThresholdIsStrict) {
  NmsOptions opt;
  opt.conf = 0.5f;
  auto c = run({{10, 10, 4, 4, 0, 0.5f}, {100, 100, 4, 4, 0, 0.50001f}, {200, 200, 4, 4, 0, 0.3f}}, 1, opt);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].anchor, 1);
}

TEST(Nms, MaxDetKeepsHighestScores) {
  std::vector<Anchor> anchors;
  for (int i = 0; i < 10; ++i) anchors.push_back({i * 50.f + 10, 10, 8, 8, 0, 0.3f + i * 0.05f});
  NmsOptions opt;
  opt.max_det = 3;
  auto c = run(anchors, 1, opt);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].anchor, 9);
  EXPECT_EQ(c[1].anchor, 8);
  EXPECT_EQ(c[2].anchor, 7);
}

TEST(Nms, MaxNmsCapsCandidatesBeforeNms) {
  std::vector<Anchor> anchors;
  for (int i = 0; i < 6; ++i) anchors.push_back({i * 50.f + 10, 10, 8, 8, 0, 0.3f + i * 0.1f});
  NmsOptions opt;
  opt.max_nms = 2;
  auto c = run(anchors, 1, opt);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].anchor, 5);
  EXPECT_EQ(c[1].anchor, 4);
}

TEST(Nms, ClassFilter) {
  NmsOptions opt;
  opt.classes = {0, 2};
  auto c = run({{10, 10, 4, 4, 0, 0.9f}, {50, 50, 4, 4, 1, 0.95f}, {90, 90, 4, 4, 2, 0.8f}}, 3, opt);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].class_id, 0);
  EXPECT_EQ(c[1].class_id, 2);
}

TEST(Nms, BestClassIsFirstMaximum) {
  std::vector<float> raw = make_raw({{10, 10, 4, 4, 1, 0.7f}}, 3);
  raw[4 + 2] = 0.7f;  // class 2 ties class 1 (one anchor: channel c is raw[c])
  auto c = select_candidates(raw, 1, 3, {});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].class_id, 1);
}

TEST(ScaleBoxes, HandCaseBusLetterbox) {
  // 810x1080 into 640x640: gain = 640/1080, pad_x = round((640 - 480)/2 - 0.1) = 80, pad_y = 0.
  const float g = static_cast<float>(640.0 / 1080.0);
  BoxXyxy b = scale_box({100.f, 50.f, 300.f, 600.f}, 640, 640, 1080, 810);
  EXPECT_FLOAT_EQ(b[0], 20.f / g);
  EXPECT_FLOAT_EQ(b[1], 50.f / g);
  EXPECT_FLOAT_EQ(b[2], 220.f / g);
  EXPECT_FLOAT_EQ(b[3], 600.f / g);
  EXPECT_NEAR(b[0], 33.75f, 1e-3);
  // Clipped to the image.
  BoxXyxy c = scale_box({70.f, -5.f, 600.f, 700.f}, 640, 640, 1080, 810);
  EXPECT_FLOAT_EQ(c[0], 0.f);
  EXPECT_FLOAT_EQ(c[1], 0.f);
  EXPECT_FLOAT_EQ(c[2], 810.f);
  EXPECT_FLOAT_EQ(c[3], 1080.f);
}

TEST(ScaleBoxes, DecodeDetectMapsToOriginal) {
  // zidane 1280x720 in 640x640: gain 0.5, pad_y = round((640 - 360)/2 - 0.1) = 140.
  std::vector<float> raw = make_raw({{320, 320, 100, 50, 0, 0.9f}}, 1);
  auto d = decode_detect(raw, 1, 1, {}, 640, 640, 720, 1280);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FLOAT_EQ(d[0].box[0], 540.f);
  EXPECT_FLOAT_EQ(d[0].box[1], 310.f);
  EXPECT_FLOAT_EQ(d[0].box[2], 740.f);
  EXPECT_FLOAT_EQ(d[0].box[3], 410.f);
  EXPECT_FLOAT_EQ(d[0].confidence, 0.9f);
}

}  // namespace
}  // namespace kiln::vision
