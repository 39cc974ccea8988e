// INT8 build options: kiln.yaml keys, the cache key, and the metadata's INT8 record.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/build_options.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "support/test_support.h"

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

TEST(Int8Options, KilnYamlKeysFillTheBuildOptions) {
  const fs::path dir = test::temp_dir() / "int8_yaml";
  fs::create_directories(dir);
  std::ofstream(dir / "kiln.yaml") << R"(
models:
  edge:
    source: yolo11n.onnx
    precision: int8
    calib: data/coco8.yaml
    calib_images: 64
    calib_method: percentile=99.9
    int8_exclude: ["*cv2*", "*model.0*"]
    int8_target_drop: 0.01
  bad: {source: yolo11n.onnx, precision: int8, calib_method: kl}
)";
  auto c = load_config(dir / "kiln.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto o = resolve_build_options(&*c, &c->models[0], {});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->precision, Precision::kInt8);
  EXPECT_EQ(fs::path(o->int8.calib), fs::absolute(dir) / "data/coco8.yaml");
  EXPECT_EQ(o->int8.calib_images, 64);
  EXPECT_EQ(o->int8.method.to_string(), "percentile=99.9");
  EXPECT_EQ(o->int8.exclude, (std::vector<std::string>{"*cv2*", "*model.0*"}));
  EXPECT_EQ(o->int8.target_drop, 0.01);
  auto bad = resolve_build_options(&*c, &c->models[1], {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("calibration method 'kl'"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("model 'bad'"), std::string::npos);
}

TEST(Int8Options, ChangeTheCacheKeyOnlyForInt8Builds) {
  BuildOptions a;
  a.precision = Precision::kInt8;
  a.int8.calib = "/data/coco8";
  BuildOptions b = a;
  b.int8.method = *parse_calibration_method("entropy");
  EXPECT_NE(to_json(a).dump(), to_json(b).dump());
  b = a;
  b.int8.exclude = {"*cv2*"};
  EXPECT_NE(to_json(a).dump(), to_json(b).dump());
  BuildOptions fp32, fp32_with_calib;
  fp32_with_calib.int8.calib = "/data/coco8";
  EXPECT_EQ(to_json(fp32).dump(), to_json(fp32_with_calib).dump());
}

TEST(Int8Options, MetadataRoundTripsTheLayerChoices) {
  EngineMetadata m;
  m.build.precision = Precision::kInt8;
  Int8Info i;
  i.source = "calibration";
  i.calibration_data = "/data/coco8";
  i.method = "entropy";
  i.images = 8;
  i.calibration_key = std::string(64, 'a');
  i.calibration_reused = true;
  i.target_drop = 0.01;
  i.sensitivity = "2 held-back images";
  i.layers = {{"/model.0/conv/Conv", "Conv", quant::LayerPrecision::kFloat, "sensitive: first conv"},
              {"/model.1/conv/Conv", "Conv", quant::LayerPrecision::kInt8, "calibrated"}};
  m.build.int8 = i;
  auto back = metadata_from_json(to_json(m));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_TRUE(back->build.int8);
  const Int8Info& r = *back->build.int8;
  EXPECT_EQ(r.method, "entropy");
  EXPECT_EQ(r.images, 8);
  EXPECT_TRUE(r.calibration_reused);
  EXPECT_EQ(r.target_drop, 0.01);
  ASSERT_EQ(r.layers.size(), 2u);
  EXPECT_EQ(r.layers[0].reason, "sensitive: first conv");
  EXPECT_EQ(r.layers[1].precision, quant::LayerPrecision::kInt8);
  EngineMetadata fp32;
  auto plain = metadata_from_json(to_json(fp32));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->build.int8);
}

}  // namespace
}  // namespace kiln::engine
