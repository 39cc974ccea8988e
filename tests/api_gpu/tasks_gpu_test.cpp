// Model::predict's GPU path for every task vs the CPU backend on the same static input:
// same detections, confidence within 0.01, boxes within 1.5 px (of the CPU's kept boxes, or
// of its candidates before NMS where a near-tie kept another), keypoints within 2 px,
// mask areas within 3%, obb and top-5 classes equal; pinned and RGB views equal the
// plain image's result.
#include <gtest/gtest.h>

#include <cstring>

#include "api/api_test_util.h"
#include "kiln/model.h"

namespace kiln::test {
namespace {

bool unsupported_on_gpu(const Status& st) {
  return st.message().find("no CUDA device") != std::string::npos || st.code() == StatusCode::kUnsupported;
}

struct TaskCase {
  const char* model;
  const char* precision;
};

class TasksGpu : public ::testing::TestWithParam<TaskCase> {};

TEST_P(TasksGpu, GpuPredictEqualsCpuPredict) {
  KILN_REQUIRE_ASSETS();
  const TaskCase c = GetParam();
  if (!std::filesystem::exists(asset(std::string("models/") + c.model))) GTEST_SKIP() << c.model << " not in the assets";
  const auto cache = temp_dir();
  ModelOptions g;
  g.device = Device::cuda(0), g.precision = *parse_precision(c.precision), g.cache_dir = cache, g.strict_gpu = true;
  auto gpu = Model::load(asset(std::string("models/") + c.model), g);
  if (!gpu.ok() && unsupported_on_gpu(gpu.status())) GTEST_SKIP() << gpu.status().message();
  ASSERT_TRUE(gpu.ok()) << gpu.status().message();
  ModelOptions co;
  co.cache_dir = cache;
  auto cpu = Model::load(asset(std::string("models/") + c.model), co);
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  PredictOptions po;
  if (gpu->info().task == "obb") po.conf = 0.5f;  // random weights: keep the comparison small
  for (const char* name : {"bus.jpg", "zidane.jpg"}) {
    SCOPED_TRACE(std::string(c.model) + " " + c.precision + " " + name);
    auto image = load_image(asset(std::string("images/") + name));
    ASSERT_TRUE(image.ok());
    auto want = cpu->predict(*image, po);
    auto got = gpu->predict(*image, po);
    ASSERT_TRUE(want.ok()) << want.status().message();
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_EQ(got->boxes.size(), want->boxes.size());
    const Deviation d = deviation_allowing_near_ties(*cpu, *image, po, got->boxes, want->boxes, 1.5,
                                                     std::string(c.model) + " " + name);
    EXPECT_LE(d.conf, 0.01);
    EXPECT_LE(d.box, 1.5);
    ASSERT_EQ(got->keypoints.size(), want->keypoints.size());
    for (size_t i = 0; i < got->keypoints.size(); ++i)
      for (size_t k = 0; k < got->keypoints[i].points.size(); ++k) {
        const Keypoint& a = got->keypoints[i].points[k];
        const Keypoint& b = want->keypoints[i].points[k];
        if (b.confidence < 0.5f) continue;  // invisible points are placed arbitrarily
        EXPECT_NEAR(a.x, b.x, 2.0);
        EXPECT_NEAR(a.y, b.y, 2.0);
      }
    ASSERT_EQ(got->masks.size(), want->masks.size());
    for (size_t i = 0; i < got->masks.size(); ++i) {
      long a = 0, b = 0;
      for (uint8_t v : got->masks[i].data) a += v;
      for (uint8_t v : want->masks[i].data) b += v;
      EXPECT_LE(std::abs(a - b), 0.03 * b + 1) << "mask " << i;
    }
    ASSERT_EQ(got->obb.size(), want->obb.size());
    for (size_t i = 0; i < got->obb.size(); ++i) {
      EXPECT_EQ(got->obb[i].class_id, want->obb[i].class_id);
      EXPECT_NEAR(got->obb[i].cx, want->obb[i].cx, 1.5);
      EXPECT_NEAR(got->obb[i].cy, want->obb[i].cy, 1.5);
    }
    ASSERT_EQ(got->top5.size(), want->top5.size());
    for (size_t i = 0; i < got->top5.size(); ++i) EXPECT_NEAR(got->top5[i].score, want->top5[i].score, 0.01);
  }
}

INSTANTIATE_TEST_SUITE_P(Tasks, TasksGpu,
                         ::testing::Values(TaskCase{"yolo11n-pose.onnx", "fp32"}, TaskCase{"yolo11n-pose.onnx", "fp16"},
                                           TaskCase{"yolov8n-seg.onnx", "fp32"}, TaskCase{"yolov8n-seg.onnx", "fp16"},
                                           TaskCase{"yolo11n-obb-random.onnx", "fp32"},
                                           TaskCase{"yolo11n-cls-random.onnx", "fp32"}));

TEST(ImageViewsGpu, PinnedAndRgbViewsEqualTheImage) {
  KILN_REQUIRE_ASSETS();
  ModelOptions g;
  g.device = Device::cuda(0), g.precision = Precision::kFp16, g.cache_dir = temp_dir(), g.strict_gpu = true;
  auto gpu = Model::load(asset("models/yolo11n.onnx"), g);
  if (!gpu.ok() && unsupported_on_gpu(gpu.status())) GTEST_SKIP() << gpu.status().message();
  ASSERT_TRUE(gpu.ok()) << gpu.status().message();
  auto image = load_image(asset("images/bus.jpg"));
  ASSERT_TRUE(image.ok());
  auto pinned = PinnedImage::allocate(image->width, image->height);
  ASSERT_TRUE(pinned.ok());
  EXPECT_TRUE(pinned->pinned());
  std::memcpy(pinned->data(), image->pixels.data(), image->pixels.size());
  std::vector<uint8_t> rgb = image->pixels;
  for (size_t i = 0; i < rgb.size(); i += 3) std::swap(rgb[i], rgb[i + 2]);
  auto a = gpu->predict(*image);
  auto b = gpu->predict(pinned->view());
  auto c = gpu->predict(ImageView{image->width, image->height, rgb.data(), true});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_FALSE(a->boxes.empty());
  for (const auto* p : {&*b, &*c}) {
    ASSERT_EQ(p->boxes.size(), a->boxes.size());
    for (size_t i = 0; i < a->boxes.size(); ++i) {
      EXPECT_EQ(p->boxes[i].confidence, a->boxes[i].confidence);
      EXPECT_EQ(p->boxes[i].box.x1, a->boxes[i].box.x1);
    }
  }
  EXPECT_GT(a->speed.inference_ms, 0.0);
}

}  // namespace
}  // namespace kiln::test
