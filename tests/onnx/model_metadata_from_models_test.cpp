// Ultralytics metadata of the real models, imported and parsed, against known facts.
#include <gtest/gtest.h>

#include "ir/model_metadata.h"
#include "onnx/importer.h"
#include "support/test_support.h"

namespace kiln::onnx {
namespace {

ir::ModelMetadata metadata_of(const std::string& model) {
  Result<ir::Graph> g = import_model(kiln::test::asset("models/" + model));
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (!g.ok()) return {};
  Result<ir::ModelMetadata> m = ir::parse_model_metadata(g->metadata);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? *m : ir::ModelMetadata{};
}

TEST(ModelMetadataFromModels, Yolo11nDetect) {
  KILN_REQUIRE_ASSETS();
  ir::ModelMetadata m = metadata_of("yolo11n.onnx");
  EXPECT_EQ(m.task, "detect");
  ASSERT_EQ(m.names.size(), 80u);
  EXPECT_EQ(m.names[0], "person");
  EXPECT_EQ(m.names[9], "traffic light");
  EXPECT_EQ(m.names[79], "toothbrush");
  EXPECT_EQ(m.imgsz_h, 640);
  EXPECT_EQ(m.imgsz_w, 640);
  EXPECT_EQ(m.stride, 32);
  EXPECT_EQ(m.batch, 1);
  EXPECT_FALSE(m.end2end);
  EXPECT_EQ(m.version, "8.4.50");
  EXPECT_TRUE(m.kpt_shape.empty());
}

TEST(ModelMetadataFromModels, Pose) {
  KILN_REQUIRE_ASSETS();
  ir::ModelMetadata m = metadata_of("yolo11n-pose.onnx");
  EXPECT_EQ(m.task, "pose");
  EXPECT_EQ(m.kpt_shape, (std::vector<int64_t>{17, 3}));
  EXPECT_EQ(m.names, std::vector<std::string>{"person"});
}

TEST(ModelMetadataFromModels, Obb) {
  KILN_REQUIRE_ASSETS();
  ir::ModelMetadata m = metadata_of("yolo11n-obb-random.onnx");
  EXPECT_EQ(m.task, "obb");
  ASSERT_EQ(m.names.size(), 15u);
  EXPECT_EQ(m.names[0], "plane");
  EXPECT_EQ(m.imgsz_h, 1024);
}

TEST(ModelMetadataFromModels, Classify) {
  KILN_REQUIRE_ASSETS();
  ir::ModelMetadata m = metadata_of("yolo11n-cls-random.onnx");
  EXPECT_EQ(m.task, "classify");
  EXPECT_EQ(m.imgsz_h, 224);
  EXPECT_EQ(m.imgsz_w, 224);
  EXPECT_EQ(m.names.size(), 1000u);
}

TEST(ModelMetadataFromModels, Int8At320AndSegment) {
  KILN_REQUIRE_ASSETS();
  ir::ModelMetadata det = metadata_of("int8/yolo11n_320_int8dyn.onnx");
  EXPECT_EQ(det.imgsz_h, 320);
  EXPECT_EQ(det.version, "8.4.21");
  EXPECT_EQ(metadata_of("yolov8n-seg.onnx").task, "segment");
}

}  // namespace
}  // namespace kiln::onnx
