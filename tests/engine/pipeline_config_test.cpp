// The `pipelines:` section of kiln.yaml: the two documented examples parse to what they
// say, and every mistake the file alone shows is one error naming the file and the key.
#include "engine/pipeline_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "engine/config.h"
#include "support/test_support.h"

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

Result<Config> load_text(const std::string& text) {
  const fs::path yaml = test::temp_dir() / "kiln.yaml";
  std::ofstream(yaml) << text;
  return load_config(yaml);
}

TEST(PipelineConfig, VehiclePlateExample) {
  auto c = load_text(R"(
models:
  vehicle: {source: yolo11n.onnx}
  plate: {source: plates.onnx, imgsz: 416}
pipelines:
  traffic:
    detector: vehicle
    classes: [car, bus, truck]
    stages:
      - {name: plate, model: plate, role: detect, classes: [car, truck], imgsz: 416, conf: 0.4, padding: 0.05}
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->pipelines.size(), 1u);
  const PipelineConfig& p = c->pipelines[0];
  EXPECT_EQ(p.name, "traffic");
  EXPECT_EQ(p.detector, "vehicle");
  EXPECT_FALSE(p.tracker);
  EXPECT_FALSE(p.conf);
  EXPECT_EQ(p.classes, (std::vector<std::string>{"car", "bus", "truck"}));
  ASSERT_EQ(p.stages.size(), 1u);
  const StageConfig& s = p.stages[0];
  EXPECT_EQ(s.role, StageRole::kDetect);
  EXPECT_EQ(s.crop, CropFit::kLetterbox);
  EXPECT_EQ(*s.imgsz, 416);
  EXPECT_FLOAT_EQ(*s.conf, 0.4f);
  EXPECT_DOUBLE_EQ(s.padding, 0.05);
  EXPECT_EQ(s.classes, (std::vector<std::string>{"car", "truck"}));
}

TEST(PipelineConfig, PersonTrackPoseReidExample) {
  auto c = load_text(R"(
pipelines:
  people:
    detector: yolo11n.onnx
    classes: person
    tracker: botsort.yaml
    stages:
      - {name: pose, model: yolo11n-pose.onnx, role: pose, crop: letterbox, imgsz: 320}
      - {name: reid, model: osnet_x0_25_msmt17.onnx, role: embed, every: 5}
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const PipelineConfig& p = c->pipelines.at(0);
  EXPECT_EQ(*p.tracker, "botsort.yaml");  // no such file beside the yaml: the built-in name
  EXPECT_EQ(p.classes, std::vector<std::string>{"person"});
  ASSERT_EQ(p.stages.size(), 2u);
  EXPECT_EQ(p.stages[0].role, StageRole::kPose);
  EXPECT_EQ(p.stages[1].role, StageRole::kEmbed);
  EXPECT_EQ(p.stages[1].crop, CropFit::kResize);  // embed's default
  EXPECT_EQ(p.stages[1].every, 5);
}

TEST(PipelineConfig, TrackerFileBesideTheYaml) {
  const fs::path dir = test::temp_dir();
  std::ofstream(dir / "mytracker.yaml") << "tracker_type: bytetrack\n";
  std::ofstream(dir / "kiln.yaml") << "pipelines: {p: {detector: d.onnx, tracker: mytracker.yaml}}\n";
  auto c = load_config(dir / "kiln.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(fs::path(*c->pipelines[0].tracker), fs::absolute(dir) / "mytracker.yaml");
}

struct BadCase {
  const char* name;  // the test's name
  const char* yaml;
  std::vector<std::string> mentions;
};

class PipelineConfigErrors : public testing::TestWithParam<BadCase> {};

TEST_P(PipelineConfigErrors, OneLineNamingTheKey) {
  auto c = load_text(GetParam().yaml);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  const std::string& m = c.status().message();
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_NE(m.find("kiln.yaml: "), std::string::npos) << m;
  for (const std::string& want : GetParam().mentions) EXPECT_NE(m.find(want), std::string::npos) << m << " lacks " << want;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PipelineConfigErrors,
    testing::Values(
        BadCase{"UnknownPipelineKey",
                "pipelines: {p: {detector: d.onnx, tracer: bytetrack.yaml}}",
                {"pipelines.p", "unknown key 'tracer'", "valid: detector, tracker, conf, iou, classes, stages"}},
        BadCase{"UnknownStageKey",
                "pipelines: {p: {detector: d.onnx, stages: [{name: a, model: m.onnx, role: pose, pading: 0.1}]}}",
                {"pipelines.p.stages[0]", "unknown key 'pading'", "valid: name, model, role"}},
        BadCase{"UnknownRole",
                "pipelines: {p: {detector: d.onnx, stages: [{name: a, model: m.onnx, role: segment}]}}",
                {"pipelines.p.stages[0].role", "pose, classify, detect or embed"}},
        BadCase{"UnknownCrop",
                "pipelines: {p: {detector: d.onnx, stages: [{name: a, model: m.onnx, role: pose, crop: squash}]}}",
                {"pipelines.p.stages[0].crop", "resize or letterbox"}},
        BadCase{"NoRole",
                "pipelines: {p: {detector: d.onnx, stages: [{name: a, model: m.onnx}]}}",
                {"pipelines.p.stages[0]", "no 'role'"}},
        BadCase{"NoDetector",
                "pipelines: {p: {stages: []}}", {"pipelines.p", "no 'detector'"}},
        BadCase{"ImgszOnEmbed",
                "pipelines: {p: {detector: d.onnx, stages: [{name: a, model: m.onnx, role: embed, imgsz: 256}]}}",
                {"pipelines.p.stages[0].imgsz", "embed"}},
        BadCase{"ConfOnClassify",
                "pipelines: {p: {detector: d.onnx, stages: [{name: a, model: m.onnx, role: classify, conf: 0.5}]}}",
                {"pipelines.p.stages[0].conf", "classify"}},
        BadCase{"EveryOnPose",
                "pipelines: {p: {detector: d.onnx, stages: [{name: a, model: m.onnx, role: pose, every: 3}]}}",
                {"pipelines.p.stages[0].every", "pose"}},
        BadCase{"EveryWithoutTracker",
                "pipelines: {p: {detector: d.onnx, stages: [{name: a, model: m.onnx, role: embed, every: 3}]}}",
                {"pipelines.p.stages[0].every", "tracker"}},
        BadCase{"ImgszNotMultipleOf32",
                "pipelines: {p: {detector: d.onnx, stages: [{name: a, model: m.onnx, role: pose, imgsz: 300}]}}",
                {"pipelines.p.stages[0].imgsz", "multiple of 32"}},
        BadCase{"PaddingOverOne",
                "pipelines: {p: {detector: d.onnx, stages: [{name: a, model: m.onnx, role: pose, padding: 2}]}}",
                {"pipelines.p.stages[0].padding", "[0, 1]"}},
        BadCase{"ConfOverOne",
                "pipelines: {p: {detector: d.onnx, conf: 1.5}}", {"pipelines.p.conf", "[0, 1]"}},
        BadCase{"ImgszWrongType",
                "pipelines: {p: {detector: d.onnx, stages: [{name: a, model: m.onnx, role: pose, imgsz: big}]}}",
                {"pipelines.p.stages[0].imgsz", "wrong type"}},
        BadCase{"DuplicateStageNames",
                "pipelines: {p: {detector: d.onnx, stages: [{name: a, model: m, role: pose}, {name: a, model: m, role: "
                "detect}]}}",
                {"pipelines.p.stages", "two stages named 'a'"}},
        BadCase{"PipelinesNotAMapping",
                "pipelines: [a, b]", {"pipelines", "mapping"}}),
    [](const testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace kiln::engine
