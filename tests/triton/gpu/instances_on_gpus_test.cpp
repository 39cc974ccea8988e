// Backend instances on every GPU of the machine, in one process: each instance's options put
// its own kiln::Model (engine built or loaded for that GPU) on cuda:N, and every GPU gives the
// predictions of GPU 0. Skips without a GPU; one GPU checks the path with N = 1.
#include <gtest/gtest.h>

#include <vector>

#include "engine/environment.h"
#include "kiln/model.h"
#include "serve_config.h"
#include "support/test_support.h"

namespace kiln::triton {
namespace {

TEST(InstancesOnGpus, EveryGpuServesTheSamePredictions) {
  KILN_REQUIRE_ASSETS();
  auto env = engine::detect_environment();
  ASSERT_TRUE(env.ok()) << env.status().message();
  if (env->gpus.empty()) GTEST_SKIP() << "no GPU: " << env->no_gpu_reason;
  auto image = load_image(test::asset("images/bus.jpg"));
  ASSERT_TRUE(image.ok()) << image.status().message();
  ServeConfig config;
  config.precision = Precision::kFp16;
  std::vector<Model> instances;  // all alive at once, as in one server process
  for (size_t gpu = 0; gpu < env->gpus.size(); ++gpu) {
    auto options = instance_model_options(config, InstanceKind::kGpu, static_cast<int>(gpu));
    ASSERT_TRUE(options.ok()) << options.status().message();
    auto model = Model::load(test::asset("models/yolo11n.onnx"), *options);
    ASSERT_TRUE(model.ok()) << model.status().message();
    EXPECT_EQ(model->info().device, Device::cuda(static_cast<int>(gpu)));
    instances.push_back(std::move(model).value());
  }
  auto first = instances[0].predict(*image);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_FALSE(first->boxes.empty());
  for (size_t gpu = 1; gpu < instances.size(); ++gpu) {
    auto p = instances[gpu].predict(*image);
    ASSERT_TRUE(p.ok()) << "cuda:" << gpu << ": " << p.status().message();
    ASSERT_EQ(p->boxes.size(), first->boxes.size()) << "cuda:" << gpu;
    for (size_t i = 0; i < p->boxes.size(); ++i) {
      EXPECT_EQ(p->boxes[i].class_id, first->boxes[i].class_id);
      EXPECT_FLOAT_EQ(p->boxes[i].confidence, first->boxes[i].confidence) << "cuda:" << gpu << " box " << i;
      EXPECT_FLOAT_EQ(p->boxes[i].box.x1, first->boxes[i].box.x1);
      EXPECT_FLOAT_EQ(p->boxes[i].box.y2, first->boxes[i].box.y2);
    }
  }
  // A device that is not there is a clear error, not a crash.
  auto options = instance_model_options(config, InstanceKind::kGpu, static_cast<int>(env->gpus.size()));
  ASSERT_TRUE(options.ok());
  auto missing = Model::load(test::asset("models/yolo11n.onnx"), *options);
  EXPECT_FALSE(missing.ok());
}

}  // namespace
}  // namespace kiln::triton
