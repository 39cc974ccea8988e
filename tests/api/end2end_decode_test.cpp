// NMS-free (end2end) rows on the CPU path: the first max_det rows over conf, then the class
// filter (Ultralytics' order), boxes scaled back through the letterbox; obb rows keep
// their angle; pose rows their keypoints. Hand-made rows, hand-computed results.
#include <gtest/gtest.h>

#include "api/end2end_decode.h"

namespace kiln::test {
namespace {

api::LoadedModel model(const std::string& task) {
  api::LoadedModel m;
  m.name = "hand-made";
  m.info.task = task;
  m.end2end = true;
  if (task == "pose") m.info.kpt_shape = {1, 3};
  return m;
}

TEST(End2EndDecode, DetectRowsFilteredInOrderAndScaled) {
  const std::vector<float> rows = {
      100, 100, 200, 220, 0.90f, 2,  //
      10,  20,  30,  40,  0.10f, 0,  // under conf
      300, 310, 400, 420, 0.80f, 1,  //
      50,  60,  70,  80,  0.70f, 2,  // beyond max_det 2
  };
  vision::NmsOptions nms;
  nms.max_det = 2;
  Prediction p;
  // 640x640 input of a 1280x1280 image: gain 0.5, no padding.
  ASSERT_TRUE(api::decode_end2end(model("detect"), {rows, 4, 6, {}}, nms, 640, 640, 1280, 1280, p).ok());
  ASSERT_EQ(p.boxes.size(), 2u);
  EXPECT_EQ(p.boxes[0].class_id, 2);
  EXPECT_FLOAT_EQ(p.boxes[0].confidence, 0.9f);
  EXPECT_FLOAT_EQ(p.boxes[0].box.x1, 200.f);
  EXPECT_FLOAT_EQ(p.boxes[0].box.y2, 440.f);
  EXPECT_EQ(p.boxes[1].class_id, 1);
  EXPECT_FLOAT_EQ(p.boxes[1].box.x2, 800.f);

  nms.classes = {2};  // after max_det: the 0.70 row stays out
  Prediction q;
  ASSERT_TRUE(api::decode_end2end(model("detect"), {rows, 4, 6, {}}, nms, 640, 640, 1280, 1280, q).ok());
  ASSERT_EQ(q.boxes.size(), 1u);
  EXPECT_FLOAT_EQ(q.boxes[0].confidence, 0.9f);
}

TEST(End2EndDecode, PoseAndObbRows) {
  vision::NmsOptions nms;
  // 640x480 input of a 1280x960 image: gain 0.5, no padding.
  const std::vector<float> pose = {100, 100, 200, 200, 0.9f, 0, 150, 120, 0.8f};
  Prediction p;
  ASSERT_TRUE(api::decode_end2end(model("pose"), {pose, 1, 9, {}}, nms, 480, 640, 960, 1280, p).ok());
  ASSERT_EQ(p.keypoints.size(), 1u);
  EXPECT_FLOAT_EQ(p.keypoints[0].points[0].x, 300.f);
  EXPECT_FLOAT_EQ(p.keypoints[0].points[0].y, 240.f);
  EXPECT_FLOAT_EQ(p.keypoints[0].points[0].confidence, 0.8f);

  const std::vector<float> obb = {320, 240, 100, 50, 0.7f, 3, 0.5f};
  Prediction o;
  ASSERT_TRUE(api::decode_end2end(model("obb"), {obb, 1, 7, {}}, nms, 480, 640, 960, 1280, o).ok());
  ASSERT_EQ(o.obb.size(), 1u);
  EXPECT_EQ(o.obb[0].class_id, 3);
  EXPECT_FLOAT_EQ(o.obb[0].cx, 640.f);
  EXPECT_FLOAT_EQ(o.obb[0].w, 200.f);
  EXPECT_FLOAT_EQ(o.obb[0].angle, 0.5f);

  Status short_rows = api::decode_end2end(model("pose"), {pose, 1, 6, {}}, nms, 480, 640, 960, 1280, p);
  EXPECT_EQ(short_rows.code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace kiln::test
