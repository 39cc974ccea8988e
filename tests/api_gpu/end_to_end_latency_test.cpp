// End-to-end latency of the GPU predict path, as `kiln bench --model M --source IMAGE`
// measures it (the kiln binary needs FFmpeg's libraries, which GPU images may lack; this
// binary does not): bus.jpg in pinned host memory -> detections in host memory, yolo11n
// FP16 batch 1. Prints p50 / p95 / p99 and the CUDA-event split; fails when the median
// exceeds Ultralytics' own predict (5.6 ms on an H200) or the detections change between runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "api/api_test_util.h"
#include "kiln/model.h"

namespace kiln::test {
namespace {

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5))];
}

TEST(EndToEndLatency, Yolo11nFp16BusJpg) {
  KILN_REQUIRE_ASSETS();
  ModelOptions o;
  o.device = Device::cuda(0), o.precision = Precision::kFp16, o.cache_dir = temp_dir(), o.strict_gpu = true;
  auto model = Model::load(asset("models/yolo11n.onnx"), o);
  if (!model.ok() && model.status().message().find("no CUDA device") != std::string::npos)
    GTEST_SKIP() << model.status().message();
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto image = load_image(asset("images/bus.jpg"));
  ASSERT_TRUE(image.ok());
  auto pinned = PinnedImage::allocate(image->width, image->height);
  ASSERT_TRUE(pinned.ok());
  std::memcpy(pinned->data(), image->pixels.data(), image->pixels.size());
  auto first = model->predict(pinned->view());
  ASSERT_TRUE(first.ok()) << first.status().message();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(model->predict(pinned->view()).ok());
  std::vector<double> total, pre, infer, post, pageable;
  for (int i = 0; i < 500; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto p = model->predict(pinned->view());
    total.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->boxes.size(), first->boxes.size());
    pre.push_back(p->speed.preprocess_ms), infer.push_back(p->speed.inference_ms), post.push_back(p->speed.postprocess_ms);
  }
  for (int i = 0; i < 200; ++i) {  // the same from a plain Image (pageable: one staging memcpy)
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(model->predict(*image).ok());
    pageable.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("end to end yolo11n fp16 bus.jpg (%d detections): p50 %.3f ms, p95 %.3f, p99 %.3f; split (median) "
              "preprocess %.3f, inference %.3f, postprocess %.3f; from a pageable Image p50 %.3f ms\n",
              static_cast<int>(first->boxes.size()), percentile(total, 0.5), percentile(total, 0.95),
              percentile(total, 0.99), percentile(pre, 0.5), percentile(infer, 0.5), percentile(post, 0.5),
              percentile(pageable, 0.5));
  EXPECT_LE(percentile(total, 0.5), 5.6);
}

}  // namespace
}  // namespace kiln::test
