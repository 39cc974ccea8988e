// The JSON of one image's Prediction (kiln predict --json, Results.to_json()): every task's
// fields from hand-made predictions; the mask's polygon and RLE as cv2.findContours and
// pycocotools' mask.encode give them for the same 4x3 mask.
#include <gtest/gtest.h>

#include "api/prediction_json.h"

namespace kiln::test {
namespace {

using nlohmann::json;

const std::vector<std::string> kNames = {"person", "bus"};

TEST(PredictionJson, DetectNamesClassesAndFallsBackToTheId) {
  Prediction p;
  p.boxes = {{1, 0.75f, {10, 20, 30.5f, 40}}, {7, 0.25f, {0, 0, 1, 2}}};
  EXPECT_EQ(api::prediction_json(p, kNames), json::parse(R"({"detections": [
      {"class_id": 1, "class_name": "bus", "confidence": 0.75, "box_xyxy": [10, 20, 30.5, 40]},
      {"class_id": 7, "class_name": "7", "confidence": 0.25, "box_xyxy": [0, 0, 1, 2]}]})"));
  EXPECT_EQ(api::prediction_json(Prediction{}, kNames), json::parse(R"({"detections": []})"));
}

TEST(PredictionJson, SegmentMaskAsPolygonRleOrBoth) {
  Prediction p;
  p.boxes = {{0, 0.5f, {1, 1, 3, 3}}};
  // A 2x2 square at x, y in {1, 2} of a 4 wide, 3 high mask.
  p.masks = {{4, 3, {0, 0, 0, 0,  //
                     0, 1, 1, 0,  //
                     0, 1, 1, 0}}};
  // cv2.findContours(RETR_EXTERNAL, CHAIN_APPROX_SIMPLE) and mask.encode of that mask.
  const json polygons = json::parse("[[[1, 1], [1, 2], [2, 2], [2, 1]]]");
  const json rle = json::parse(R"({"size": [3, 4], "counts": "42102"})");
  const json polygon_only = api::prediction_json(p, kNames)["detections"][0];
  EXPECT_EQ(polygon_only["mask_area"], 4);
  EXPECT_EQ(polygon_only["polygons"], polygons);
  EXPECT_FALSE(polygon_only.contains("rle"));
  const json rle_only = api::prediction_json(p, kNames, api::MaskFormat::kRle)["detections"][0];
  EXPECT_EQ(rle_only["rle"], rle);
  EXPECT_FALSE(rle_only.contains("polygons"));
  const json both = api::prediction_json(p, kNames, api::MaskFormat::kBoth)["detections"][0];
  EXPECT_EQ(both["polygons"], polygons);
  EXPECT_EQ(both["rle"], rle);
}

TEST(PredictionJson, PoseObbAndClassify) {
  Prediction pose;
  pose.boxes = {{0, 0.5f, {0, 0, 8, 8}}};
  pose.keypoints = {{{{1, 2, 0.25f}, {3, 4, 1}}}};
  EXPECT_EQ(api::prediction_json(pose, kNames)["detections"][0]["keypoints_xyc"],
            json::parse("[[1, 2, 0.25], [3, 4, 1]]"));

  Prediction obb;
  obb.obb = {{1, 0.5f, 10, 20, 4, 2, 0.5f}};
  EXPECT_EQ(api::prediction_json(obb, kNames), json::parse(R"({"detections": [
      {"class_id": 1, "class_name": "bus", "confidence": 0.5, "box_xywhr": [10, 20, 4, 2, 0.5]}]})"));

  Prediction cls;
  cls.top5 = {{1, 0.75f}, {0, 0.125f}};
  EXPECT_EQ(api::prediction_json(cls, kNames), json::parse(R"({"detections": [], "top5": [
      {"class_id": 1, "class_name": "bus", "confidence": 0.75},
      {"class_id": 0, "class_name": "person", "confidence": 0.125}]})"));
}

TEST(PredictionJson, MaskFormatSpellings) {
  const auto& names = api::mask_format_names();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names.at("polygon"), api::MaskFormat::kPolygon);
  EXPECT_EQ(names.at("rle"), api::MaskFormat::kRle);
  EXPECT_EQ(names.at("both"), api::MaskFormat::kBoth);
}

}  // namespace
}  // namespace kiln::test
