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

TEST(Int8Options, KilnYamlKeysAreCheckedAsTheFlagsAre) {
  const fs::path dir = test::temp_dir() / "int8_yaml_checks";
  fs::create_directories(dir);
  std::ofstream(dir / "kiln.yaml") << R"(
models:
  none: {source: yolo11n.onnx, precision: int8, calib: data, calib_images: 0}
  drop: {source: yolo11n.onnx, precision: int8, calib: data, int8_target_drop: 2}
  fp16: {source: yolo11n.onnx, precision: fp16, calib: data}
  edge: {source: yolo11n.onnx, precision: int8, calib: data, calib_images: 8}
  plain: {source: yolo11n.onnx, calib_images: 8}
)";
  auto c = load_config(dir / "kiln.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto at = [](const char* precision) {
    OptionOverrides o;
    o.precision = precision;
    return o;
  };
  auto message = [&](size_t i, const OptionOverrides& o = {}) {
    auto r = resolve_build_options(&*c, &c->models[i], o);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(message(0), "calib_images 0: expected at least 1 (model 'none')");
  EXPECT_EQ(message(1), "int8_target_drop 2: expected a mAP drop in [0, 1] (model 'drop')");
  EXPECT_EQ(message(2), "calib applies to precision: int8 only (model 'fp16')");
  // An int8 model run at another precision keeps its int8 keys for its int8 builds.
  EXPECT_EQ(message(3, at("fp16")), "ok");
  // Keys on a model without a precision are used when the run asks for int8.
  EXPECT_EQ(message(4), "calib_images applies to precision: int8 only (model 'plain')");
  auto int8_run = resolve_build_options(&*c, &c->models[4], at("int8"));
  ASSERT_TRUE(int8_run.ok()) << int8_run.status().message();
  EXPECT_EQ(int8_run->int8.calib_images, 8);
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
  i.calibration_device = "cuda:0 (NVIDIA H200, cc 9.0, CUDA runtime 13000, cuDNN 91900)";
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
  EXPECT_EQ(r.calibration_device, i.calibration_device);
  EXPECT_EQ(r.target_drop, 0.01);
  ASSERT_EQ(r.layers.size(), 2u);
  EXPECT_EQ(r.layers[0].reason, "sensitive: first conv");
  EXPECT_EQ(r.layers[1].precision, quant::LayerPrecision::kInt8);
  // Engines written before GPUs gathered statistics calibrated on the CPU.
  nlohmann::json older = to_json(m);
  older["build"]["int8"].erase("calibration_device");
  auto old = metadata_from_json(older);
  ASSERT_TRUE(old.ok()) << old.status().message();
  EXPECT_EQ(old->build.int8->calibration_device, "cpu");
  EngineMetadata fp32;
  auto plain = metadata_from_json(to_json(fp32));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->build.int8);
}

}  // namespace
}  // namespace kiln::engine
