// kiln::Model on the CPU: Ultralytics parity (dynamic model vs the PyTorch reference,
// static model vs the ORT pipeline on the same ONNX), the engine cache, .kiln files with
// the mismatch policy, batches, raw run(), and errors.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "api/api_test_util.h"
#include "kiln/annotate.h"
#include "kiln/model.h"

namespace kiln::test {
namespace {

namespace fs = std::filesystem;

constexpr double kConfTol = 0.01, kBoxTol = 1.5;

fs::path model_file(const std::string& name) { return asset("models/" + name); }

Image bus() {
  auto image = load_image(asset("images/bus.jpg"));
  EXPECT_TRUE(image.ok()) << image.status().message();
  return image.ok() ? *image : Image();
}

ModelOptions in_cache(const fs::path& dir) {
  ModelOptions o;
  o.cache_dir = dir;
  return o;
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

TEST(ApiModel, DynamicModelMatchesUltralyticsPyTorchReference) {
  KILN_REQUIRE_ASSETS();
  auto model = Model::load(model_file("yolo11n-dynamic.onnx"), in_cache(temp_dir()));
  ASSERT_TRUE(model.ok()) << model.status().message();
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.task, "detect");
  ASSERT_EQ(info.names.size(), 80u);
  EXPECT_EQ(info.names[0], "person");
  EXPECT_EQ(info.names[5], "bus");
  EXPECT_EQ(info.stride, 32);
  EXPECT_TRUE(info.dynamic_input);
  EXPECT_EQ(info.device, Device::cpu());
  EXPECT_EQ(info.precision, Precision::kFp32);
  EXPECT_TRUE(info.note.empty()) << info.note;
  ASSERT_EQ(info.inputs.size(), 1u);
  EXPECT_EQ(info.inputs[0].shape, (std::vector<int64_t>{1, 3, -1, -1}));  // batch bound, size per image

  auto pred = model->predict(bus());
  ASSERT_TRUE(pred.ok()) << pred.status().message();
  // Minimal stride padding, as Ultralytics does for dynamic models: 810x1080 -> 480x640.
  EXPECT_EQ(pred->input_width, 480);
  EXPECT_EQ(pred->input_height, 640);
  std::vector<Detection> ref = reference_detections("yolo11n.images.json", "bus.jpg");
  ASSERT_EQ(ref.size(), 5u);
  ASSERT_EQ(pred->boxes.size(), 5u);
  Deviation dev = compare_detections(pred->boxes, ref);
  EXPECT_LE(dev.conf, kConfTol);
  EXPECT_LE(dev.box, kBoxTol);
  std::printf("yolo11n-dynamic vs Ultralytics PyTorch: max conf dev %.5f, max box corner dev %.3f px\n", dev.conf,
              dev.box);
}

TEST(ApiModel, StaticModelThroughCacheMatchesOrtPipelineAndReloadsAsKiln) {
  KILN_REQUIRE_ASSETS();
  const fs::path cache = temp_dir();
  auto model = Model::load(model_file("yolo11n.onnx"), in_cache(cache));
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_TRUE(model->info().engine_built);
  EXPECT_EQ(model->info().engine_path.parent_path(), cache);
  EXPECT_EQ(model->info().engine_path.extension(), ".kiln");
  EXPECT_FALSE(model->info().dynamic_input);
  EXPECT_EQ(model->info().imgsz_h, 640);
  EXPECT_EQ(model->info().imgsz_w, 640);

  auto pred = model->predict(bus());
  ASSERT_TRUE(pred.ok()) << pred.status().message();
  EXPECT_EQ(pred->input_width, 640);
  EXPECT_EQ(pred->input_height, 640);
  std::vector<Detection> want = ort_pipeline_detections(model_file("yolo11n.onnx"), asset("images/bus.jpg"));
  ASSERT_EQ(want.size(), 5u);
  EXPECT_EQ(pred->boxes.size(), want.size());
  Deviation dev = compare_detections(pred->boxes, want);
  EXPECT_LE(dev.conf, kConfTol);
  EXPECT_LE(dev.box, kBoxTol);
  std::printf("yolo11n static vs ORT pipeline: max conf dev %.6f, max box corner dev %.4f px\n", dev.conf, dev.box);
  // The classes Ultralytics finds with PyTorch (person x4, bus), despite the square letterbox.
  compare_detections(pred->boxes, reference_detections("yolo11n.images.json", "bus.jpg"));

  // Second load: the cached engine is reused.
  auto again = Model::load(model_file("yolo11n.onnx"), in_cache(cache));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE(again->info().engine_built);
  EXPECT_EQ(again->info().engine_path, model->info().engine_path);

  // The engine file itself loads and predicts the same.
  auto kiln = Model::load(model->info().engine_path);
  ASSERT_TRUE(kiln.ok()) << kiln.status().message();
  EXPECT_EQ(kiln->info().task, "detect");
  EXPECT_EQ(kiln->info().names, model->info().names);
  EXPECT_EQ(kiln->info().device, Device::cpu());
  auto pred2 = kiln->predict(bus());
  ASSERT_TRUE(pred2.ok()) << pred2.status().message();
  ASSERT_EQ(pred2->boxes.size(), pred->boxes.size());
  for (size_t i = 0; i < pred->boxes.size(); ++i) {
    EXPECT_EQ(pred2->boxes[i].class_id, pred->boxes[i].class_id);
    EXPECT_FLOAT_EQ(pred2->boxes[i].confidence, pred->boxes[i].confidence);
    EXPECT_FLOAT_EQ(pred2->boxes[i].box.x1, pred->boxes[i].box.x1);
    EXPECT_FLOAT_EQ(pred2->boxes[i].box.y2, pred->boxes[i].box.y2);
  }
  // A .kiln runs where and how it was built.
  ModelOptions fp16;
  fp16.precision = Precision::kFp16;
  auto wrong = Model::load(model->info().engine_path, fp16);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("built for fp32"), std::string::npos) << wrong.status().message();
}

TEST(ApiModel, BatchPredictEqualsSinglePredicts) {
  KILN_REQUIRE_ASSETS();
  ModelOptions o = in_cache(temp_dir());
  o.batch = 2;  // a dynamic export as a static batch-2 engine at 640x640
  auto model = Model::load(model_file("yolo11n-dynamic.onnx"), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->info().batch, 2);
  EXPECT_FALSE(model->info().dynamic_input);
  std::vector<Image> images;
  for (const char* name : {"bus.jpg", "zidane.jpg", "dog.jpg"}) {  // 3 images: the second batch is padded
    auto image = load_image(asset(std::string("images/") + name));
    ASSERT_TRUE(image.ok()) << image.status().message();
    images.push_back(std::move(image).value());
  }
  auto batched = model->predict(images);
  ASSERT_TRUE(batched.ok()) << batched.status().message();
  ASSERT_EQ(batched->size(), 3u);
  size_t total = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    auto single = model->predict(images[i]);
    ASSERT_TRUE(single.ok()) << single.status().message();
    const auto& a = (*batched)[i].boxes;
    const auto& b = single->boxes;
    ASSERT_EQ(a.size(), b.size()) << "image " << i;
    total += a.size();
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(a[k].class_id, b[k].class_id);
      EXPECT_NEAR(a[k].confidence, b[k].confidence, 1e-5);
      EXPECT_NEAR(a[k].box.x1, b[k].box.x1, 1e-3);
      EXPECT_NEAR(a[k].box.y1, b[k].box.y1, 1e-3);
      EXPECT_NEAR(a[k].box.x2, b[k].box.x2, 1e-3);
      EXPECT_NEAR(a[k].box.y2, b[k].box.y2, 1e-3);
    }
  }
  EXPECT_GE(total, 7u);  // bus 5 + zidane 3ish + dog: the images are not empty scenes
}

TEST(ApiModel, RawRunGivesTheModelOutputs) {
  KILN_REQUIRE_ASSETS();
  auto model = Model::load(model_file("yolo11n.onnx"), in_cache(temp_dir()));
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_EQ(model->info().inputs.size(), 1u);
  EXPECT_EQ(model->info().inputs[0].shape, (std::vector<int64_t>{1, 3, 640, 640}));
  ASSERT_EQ(model->info().outputs.size(), 1u);
  EXPECT_EQ(model->info().outputs[0].shape, (std::vector<int64_t>{1, 84, 8400}));
  Tensor gray{{1, 3, 640, 640}, std::vector<float>(3 * 640 * 640, 114.f / 255.f)};
  auto out = model->run({&gray, 1});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{1, 84, 8400}));
  ASSERT_EQ((*out)[0].data.size(), 84u * 8400u);
  // A uniform gray image holds nothing: no class score reaches the default threshold.
  float best = 0;
  for (size_t c = 4; c < 84; ++c)
    for (size_t a = 0; a < 8400; ++a) best = std::max(best, (*out)[0].data[c * 8400 + a]);
  EXPECT_LT(best, 0.25f);

  Tensor short_one{{1, 3, 640, 640}, std::vector<float>(10)};
  auto bad = model->run({&short_one, 1});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(ApiModel, MismatchPolicyFailRefusesAndAutoRebuilds) {
  KILN_REQUIRE_ASSETS();
  const fs::path dir = temp_dir();
  auto model = Model::load(model_file("yolo11n.onnx"), in_cache(dir));
  ASSERT_TRUE(model.ok()) << model.status().message();
  const fs::path engine = model->info().engine_path;
  // Simulate a kiln upgrade of the minor version: a critical mismatch.
  const fs::path override_file = dir / "env.json";
  std::ofstream(override_file) << R"({"kiln_version": "99.1.0"})";
  ScopedEnv env("KILN_ENV_OVERRIDE", override_file.string());

  ModelOptions fail;
  fail.on_mismatch = MismatchPolicy::kFail;
  auto refused = Model::load(engine, fail);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kIncompatible);
  EXPECT_NE(refused.status().message().find(engine.string()), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find("99.1.0"), std::string::npos) << refused.status().message();

  ModelOptions prompt;
  prompt.on_mismatch = MismatchPolicy::kPrompt;
  std::string asked;
  prompt.confirm_rebuild = [&](const std::string& reasons) {
    asked = reasons;
    return false;
  };
  EXPECT_FALSE(Model::load(engine, prompt).ok());
  EXPECT_NE(asked.find("99.1.0"), std::string::npos) << asked;

  auto rebuilt = Model::load(engine);  // kAuto
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().message();
  EXPECT_TRUE(rebuilt->info().engine_built);
  auto pred = rebuilt->predict(bus());
  ASSERT_TRUE(pred.ok()) << pred.status().message();
  EXPECT_EQ(pred->boxes.size(), 5u);
  // Rebuilt for the simulated environment: it now loads under kFail.
  EXPECT_TRUE(Model::load(engine, fail).ok());
}

// prepare has nothing to build on the CPU; a size that is not positive is refused by name.
TEST(ApiModel, PrepareOnTheCpuChecksTheSize) {
  KILN_REQUIRE_ASSETS();
  auto model = Model::load(asset("models/yolo11n-dynamic.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_TRUE(model->prepare(1920, 1080).ok());
  const Status bad = model->prepare(0, 1080);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), asset("models/yolo11n-dynamic.onnx").string() + ": prepare for 0x1080: the size must be positive");
}

TEST(ApiModel, ErrorsNameTheFileAndTheProblem) {
  KILN_REQUIRE_ASSETS();
  const fs::path dir = temp_dir();
  auto missing = Model::load(dir / "nope.onnx");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.onnx"), std::string::npos);

  const fs::path truncated = dir / "truncated.kiln";
  std::ofstream(truncated) << "KILN but not really";
  auto corrupt = Model::load(truncated);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(corrupt.status().message().find("truncated.kiln"), std::string::npos) << corrupt.status().message();

  ModelOptions fp16 = in_cache(dir);
  fp16.precision = Precision::kFp16;
  auto cpu_fp16 = Model::load(model_file("yolo11n.onnx"), fp16);
  ASSERT_FALSE(cpu_fp16.ok());
  EXPECT_EQ(cpu_fp16.status().code(), StatusCode::kInvalidArgument);

  // Device and precision text is parsed once, at the edge, against one list of values.
  EXPECT_EQ(parse_device("tpu").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_device("cuda:-1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*parse_device("cuda:3"), Device::cuda(3));
  EXPECT_EQ(parse_precision("int4").status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(parse_precision("int4").status().message().find("fp32, fp16, tf32"), std::string::npos);
  EXPECT_EQ(*parse_precision("tf32"), Precision::kTf32);
  EXPECT_EQ((*parse_batch_profile("1:4:8")).to_string(), "1:4:8");
  EXPECT_FALSE(parse_batch_profile("8:4:1").ok());

  auto image = load_image(dir / "nope.jpg");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kNotFound);
  std::ofstream(dir / "notes.jpg") << "not a jpeg";
  auto notes = load_image(dir / "notes.jpg");
  ASSERT_FALSE(notes.ok());
  EXPECT_EQ(notes.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(notes.status().message().find("notes.jpg"), std::string::npos);

  auto model = Model::load(model_file("yolo11n-dynamic.onnx"), in_cache(dir));
  ASSERT_TRUE(model.ok()) << model.status().message();
  Image broken(10, 10);
  broken.pixels.resize(7);
  EXPECT_EQ(model->predict(broken).status().code(), StatusCode::kInvalidArgument);
  PredictOptions bad_conf;
  bad_conf.conf = 1.5f;
  EXPECT_EQ(model->predict(bus(), bad_conf).status().code(), StatusCode::kInvalidArgument);

  // Task models load with their metadata (pose: the keypoint shape).
  auto pose = Model::load(model_file("yolo11n-pose.onnx"), in_cache(dir));
  ASSERT_TRUE(pose.ok()) << pose.status().message();
  EXPECT_EQ(pose->info().task, "pose");
  EXPECT_EQ(pose->info().kpt_shape, (std::vector<int64_t>{17, 3}));
}

TEST(ApiModel, GpuRequestWithoutGpuFallsBackUnlessStrict) {
  KILN_REQUIRE_ASSETS();
  ModelOptions o = in_cache(temp_dir());
  o.device = Device::cuda(0);
  auto model = Model::load(model_file("yolo11n-dynamic.onnx"), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  if (model->info().device.is_cuda()) GTEST_SKIP() << "a GPU is present: " << model->info().device.to_string();
  EXPECT_NE(model->info().note.find("running on the CPU backend"), std::string::npos) << model->info().note;
  o.strict_gpu = true;
  auto strict = Model::load(model_file("yolo11n-dynamic.onnx"), o);
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.status().message().find("strict GPU"), std::string::npos) << strict.status().message();
}

TEST(ApiModel, DrawPredictionMarksTheBoxes) {
  KILN_REQUIRE_ASSETS();
  Image image(100, 80, 0);
  Prediction p;
  p.boxes.push_back({5, 0.9f, {10, 10, 60, 50}});
  draw_prediction(image, p, {"a", "b", "c", "d", "e", "bus"});
  size_t changed = 0;
  for (uint8_t v : image.pixels) changed += v != 0;
  EXPECT_GT(changed, 100u);
  // Outside the box and its label nothing is drawn.
  const size_t far = (75 * 100 + 95) * 3;
  EXPECT_EQ(image.pixels[far], 0);
}

}  // namespace
}  // namespace kiln::test
