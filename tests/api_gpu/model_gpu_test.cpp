// kiln::Model on the GPU (skipped without one): CUDA FP32 and FP16 predictions equal the
// CPU backend's on the same static engine input (same classes and count, confidence within
// 0.01, box corners within 1.5 px of the CPU's kept boxes, or, where NMS broke a near-tie
// the other way, of its candidates before NMS), the cached engine records its verification
// and tactics, a CUDA .kiln reloads, batches equal single predicts, and a dynamic model
// prepared for a size predicts as one that was not.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "api/api_test_util.h"
#include "engine/engine.h"
#include "kiln/model.h"

namespace kiln::test {
namespace {

namespace fs = std::filesystem;

constexpr double kConfTol = 0.01, kBoxTol = 1.5;
std::vector<Image> images() { return asset_images(); }

// On cuda:0 with strict_gpu: no silent CPU fallback.
Result<Model> load_on_gpu(const std::string& file, const std::string& precision, int batch, const fs::path& cache) {
  ModelOptions o;
  o.device = Device::cuda(0);
  o.precision = *parse_precision(precision);
  o.batch = batch;
  o.cache_dir = cache;
  o.strict_gpu = true;
  return Model::load(asset("models/" + file), o);
}

bool no_gpu(const Status& st) { return st.message().find("no CUDA device") != std::string::npos; }

class ApiGpu : public ::testing::TestWithParam<const char*> {};

// GPU predictions equal the CPU's on the 7 images: same classes and count, confidence within
// 0.01, box corners within 1.5 px of the CPU's kept boxes, or, where NMS broke a near-tie
// the other way, of its candidates before NMS; and the same input size per image.
void expect_same_predictions(Model& gpu, Model& cpu, const std::string& precision) {
  Deviation worst;
  const std::vector<Image> all = images();
  for (size_t n = 0; n < all.size(); ++n) {
    const Image& image = all[n];
    auto want = cpu.predict(image);
    auto got = gpu.predict(image);
    ASSERT_TRUE(want.ok()) << want.status().message();
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(got->input_height, want->input_height) << kImages[n];
    EXPECT_EQ(got->input_width, want->input_width) << kImages[n];
    if (got->boxes.size() != want->boxes.size()) {
      // An NMS decision at the IoU threshold may go the other way in FP16 (horses.jpg: one
      // box more or less): then every GPU box must still be one of the CPU's candidates
      // before NMS, and only one decision may differ.
      EXPECT_NE(precision, "fp32") << kImages[n] << ": FP32 keeps what the CPU keeps";
      EXPECT_LE(std::abs(static_cast<int>(got->boxes.size()) - static_cast<int>(want->boxes.size())), 1) << kImages[n];
      PredictOptions all_candidates;
      all_candidates.iou = 1.0;
      auto candidates = cpu.predict(image, all_candidates);
      ASSERT_TRUE(candidates.ok()) << candidates.status().message();
      const Deviation c = deviation_from_candidates(got->boxes, candidates->boxes);
      std::printf("%s: %zu boxes kept on the GPU, %zu on the CPU; GPU boxes vs the CPU's candidates before NMS: "
                  "%.3f px, conf %.5f\n", kImages[n], got->boxes.size(), want->boxes.size(), c.box, c.conf);
      worst.conf = std::max(worst.conf, c.conf);
      worst.box = std::max(worst.box, c.box);
      continue;
    }
    // An NMS near-tie (horses.jpg in FP16: two candidates 0.0006 apart in confidence, 3.9 px
    // apart) may keep another of the CPU's candidates.
    const Deviation d = deviation_allowing_near_ties(cpu, image, {}, got->boxes, want->boxes, kBoxTol, kImages[n]);
    worst.conf = std::max(worst.conf, d.conf);
    worst.box = std::max(worst.box, d.box);
  }
  EXPECT_LE(worst.conf, kConfTol);
  EXPECT_LE(worst.box, kBoxTol);
  std::printf("cuda %s vs cpu on 7 images: max conf dev %.5f, max box corner dev %.3f px\n", precision.c_str(),
              worst.conf, worst.box);
}

TEST_P(ApiGpu, CudaPredictionsEqualCpuPredictions) {
  KILN_REQUIRE_ASSETS();
  const std::string precision = GetParam();
  const fs::path cache = temp_dir();
  auto gpu = load_on_gpu("yolo11n.onnx", precision, 1, cache);
  if (!gpu.ok() && no_gpu(gpu.status())) GTEST_SKIP() << gpu.status().message();
  ASSERT_TRUE(gpu.ok()) << gpu.status().message();
  EXPECT_EQ(gpu->info().device, Device::cuda(0));
  EXPECT_EQ(to_string(gpu->info().precision), precision);

  // The cached engine was verified on the GPU against the CPU reference, tactics recorded.
  auto info = engine::inspect_engine(gpu->info().engine_path);
  ASSERT_TRUE(info.ok()) << info.status().message();
  ASSERT_TRUE(info->metadata.build.max_relative_error.has_value()) << info->metadata.build.verification_note;
  EXPECT_LE(*info->metadata.build.max_relative_error, precision == "fp16" ? 1e-2 : 1e-3);
  EXPECT_NE(info->metadata.build.tactics, "none");
  EXPECT_GT(info->plan_bytes, 0u);
  std::printf("%s engine: verification max relative error %.3g, tactics %s\n", precision.c_str(),
              *info->metadata.build.max_relative_error, info->metadata.build.tactics.c_str());

  ModelOptions cpu_options;
  cpu_options.cache_dir = cache;
  auto cpu = Model::load(asset("models/yolo11n.onnx"), cpu_options);
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  expect_same_predictions(*gpu, *cpu, precision);

  // The engine file alone: runs where it was built, at its precision.
  auto reloaded = Model::load(gpu->info().engine_path);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().message();
  EXPECT_EQ(reloaded->info().device, Device::cuda(0));
  EXPECT_EQ(to_string(reloaded->info().precision), precision);
  auto a = reloaded->predict(images().front());
  auto b = gpu->predict(images().front());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->boxes.size(), b->boxes.size());
  for (size_t i = 0; i < a->boxes.size(); ++i) EXPECT_NEAR(a->boxes[i].confidence, b->boxes[i].confidence, 1e-3);
}

// A dynamic-size model at batch 1 keeps each image's own letterbox size on the GPU (one
// engine per size, as Ultralytics runs dynamic models), so it predicts what the CPU does,
// on a size's first engine (precompiled kernels), a prepared one and a tuned one.
TEST_P(ApiGpu, DynamicModelKeepsEachImagesSize) {
  KILN_REQUIRE_ASSETS();
  const std::string precision = GetParam();
  auto gpu = load_on_gpu("yolo11n-dynamic.onnx", precision, 1, temp_dir());
  if (!gpu.ok() && no_gpu(gpu.status())) GTEST_SKIP() << gpu.status().message();
  ASSERT_TRUE(gpu.ok()) << gpu.status().message();
  EXPECT_TRUE(gpu->info().dynamic_input);
  EXPECT_EQ(gpu->info().device, Device::cuda(0));
  auto cpu = Model::load(asset("models/yolo11n-dynamic.onnx"));
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  // Prepared for the first image's size (its engine built, run on a blank image), the model
  // still predicts what the CPU does, that image included.
  const Image first = images().front();
  ASSERT_TRUE(gpu->prepare(first.width, first.height).ok());
  expect_same_predictions(*gpu, *cpu, precision);
  // FP16: a size's first engine (dog.jpg's 480x640) has no runtime-compiled kernels; a size
  // that keeps coming gets its tuned engine built beside the calls, which then takes over.
  // The switch shows in the raw outputs (the engines round differently); each call, on
  // whichever engine, predicts what the CPU does.
  const Image dog = images().at(1);
  auto want = cpu->predict(dog);
  ASSERT_TRUE(want.ok()) << want.status().message();
  Tensor x{{1, 3, 480, 640}, std::vector<float>(static_cast<size_t>(3 * 480 * 640), 0.5f)};
  auto before = gpu->run(std::span<const Tensor>(&x, 1));
  ASSERT_TRUE(before.ok()) << before.status().message();
  Deviation worst;
  bool switched = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  const bool quick_first = precision == "fp16";
  for (int i = 0; !switched && (i < 120 || (quick_first && std::chrono::steady_clock::now() < deadline)); ++i) {
    auto got = gpu->predict(dog);
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_EQ(got->boxes.size(), want->boxes.size()) << "call " << i;
    const Deviation d = compare_detections(got->boxes, want->boxes);
    worst.conf = std::max(worst.conf, d.conf);
    worst.box = std::max(worst.box, d.box);
    auto raw = gpu->run(std::span<const Tensor>(&x, 1));
    ASSERT_TRUE(raw.ok()) << raw.status().message();
    switched = raw->at(0).data != before->at(0).data;
    if (i >= 120 && !switched) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_LE(worst.conf, kConfTol);
  EXPECT_LE(worst.box, kBoxTol);
  // FP32 has no engine without runtime-compiled kernels: each size is tuned at once.
  EXPECT_EQ(switched, quick_first) << "the first engine of a size that keeps coming was not replaced";
  // Raw runs at two sizes go through two engines and give each size's output.
  for (auto [h, w] : {std::pair{480, 640}, std::pair{640, 384}}) {
    Tensor x{{1, 3, h, w}, std::vector<float>(static_cast<size_t>(3 * h * w), 0.5f)};
    auto out = gpu->run(std::span<const Tensor>(&x, 1));
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(out->at(0).shape[2], (h / 8) * (w / 8) + (h / 16) * (w / 16) + (h / 32) * (w / 32));
  }
}

TEST_P(ApiGpu, BatchPredictEqualsSinglePredicts) {
  KILN_REQUIRE_ASSETS();
  const std::string precision = GetParam();
  auto model = load_on_gpu("yolo11n-dynamic.onnx", precision, 4, temp_dir());
  if (!model.ok() && no_gpu(model.status())) GTEST_SKIP() << model.status().message();
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->info().batch, 4);
  std::vector<Image> all = images();  // 7 images: the second batch has one padding slot
  auto batched = model->predict(all);
  ASSERT_TRUE(batched.ok()) << batched.status().message();
  ASSERT_EQ(batched->size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    auto single = model->predict(all[i]);
    ASSERT_TRUE(single.ok()) << single.status().message();
    Deviation d = compare_detections((*batched)[i].boxes, single->boxes);
    EXPECT_EQ((*batched)[i].boxes.size(), single->boxes.size()) << kImages[i];
    EXPECT_LE(d.conf, 1e-3) << kImages[i];
    EXPECT_LE(d.box, 0.1) << kImages[i];
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, ApiGpu, ::testing::Values("fp32", "fp16"));

}  // namespace
}  // namespace kiln::test
