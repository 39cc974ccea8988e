// The kiln backend's serving configuration: config.pbtxt parameters (as Triton hands them over,
// JSON) into typed options, instance placement on the CPU or on any of N GPUs, and the
// repository writer's config text.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "model_repository.h"
#include "serve_config.h"
#include "support/test_support.h"

namespace kiln::triton {
namespace {

TEST(ServeConfig, DefaultsFollowMaxBatchSize) {
  auto c = parse_serve_config(R"({"name": "yolo", "max_batch_size": 8, "default_model_filename": "model.onnx"})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->model_file, "model.onnx");
  EXPECT_EQ(c->max_batch_size, 8);
  // A dynamic batch of n runs as one inference, at the smallest prepared batch >= n.
  EXPECT_EQ(c->batch, BatchProfile(1, 8, 8));
  EXPECT_EQ(c->imgsz, 0);
  EXPECT_FALSE(c->precision.has_value());
  EXPECT_FLOAT_EQ(c->predict.conf, 0.25f);
  EXPECT_DOUBLE_EQ(c->predict.iou, 0.7);
  EXPECT_EQ(c->predict.max_det, 300);
}

TEST(ServeConfig, ParametersAreTyped) {
  auto c = parse_serve_config(R"({"name": "yolo", "max_batch_size": 16, "default_model_filename": "model.kiln",
    "parameters": {"conf": {"string_value": "0.4"}, "iou": {"string_value": "0.5"},
                   "max_det": {"string_value": "50"}, "batch": {"string_value": "2:4:16"},
                   "imgsz": {"string_value": "320"}, "precision": {"string_value": "fp16"}}})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FLOAT_EQ(c->predict.conf, 0.4f);
  EXPECT_DOUBLE_EQ(c->predict.iou, 0.5);
  EXPECT_EQ(c->predict.max_det, 50);
  EXPECT_EQ(c->batch, BatchProfile(2, 4, 16));
  EXPECT_EQ(c->imgsz, 320);
  EXPECT_EQ(c->precision, Precision::kFp16);
}

void expect_refused(const std::string& json, const std::string& must_mention) {
  auto c = parse_serve_config(json);
  ASSERT_FALSE(c.ok()) << json;
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find(must_mention), std::string::npos) << c.status().message();
}

TEST(ServeConfig, BadConfigsAreNamed) {
  const std::string head = R"({"name": "m", "max_batch_size": 8, "default_model_filename": "model.onnx", )";
  expect_refused(head + R"("parameters": {"conf": {"string_value": "high"}}})", "conf = 'high' is not a number");
  expect_refused(head + R"("parameters": {"conf": {"string_value": "1.5"}}})", "conf must be in [0, 1]");
  expect_refused(head + R"("parameters": {"max_det": {"string_value": "0"}}})", "max_det must be at least 1");
  expect_refused(head + R"("parameters": {"batch": {"string_value": "8x"}}})", "parameter batch: ");
  expect_refused(head + R"("parameters": {"batch": {"string_value": "4:2:8"}}})", "parameter batch: ");
  expect_refused(head + R"("parameters": {"precision": {"string_value": "int4"}}})", "parameter precision: ");
  expect_refused(head + R"("parameters": {"confidence": {"string_value": "0.5"}}})", "unknown parameter 'confidence'");
  expect_refused(R"({"name": "m", "max_batch_size": 0, "default_model_filename": "model.onnx"})", "max_batch_size");
  expect_refused(R"({"name": "m", "max_batch_size": 8})", "default_model_filename");
  expect_refused("not json", "not a JSON object");
}

TEST(InstancePlacement, CpuInstances) {
  auto d = instance_device(InstanceKind::kCpu, 0);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, Device::cpu());
}

TEST(InstancePlacement, EachGpuInstanceOnItsOwnDevice) {
  ServeConfig c;
  c.batch = BatchProfile(1, 8, 8);
  c.imgsz = 640;
  c.precision = Precision::kFp16;
  for (int gpu = 0; gpu < 8; ++gpu) {
    auto o = instance_model_options(c, InstanceKind::kGpu, gpu);
    ASSERT_TRUE(o.ok()) << o.status().message();
    EXPECT_EQ(o->device, Device::cuda(gpu));
    EXPECT_EQ(o->device->to_string(), "cuda:" + std::to_string(gpu));
    EXPECT_EQ(o->precision, Precision::kFp16);
    EXPECT_EQ(o->batch, BatchProfile(1, 8, 8));
    EXPECT_EQ(o->imgsz, 640);
    EXPECT_TRUE(o->strict_gpu);  // no silent CPU fallback for a GPU instance
  }
  EXPECT_FALSE(instance_device(InstanceKind::kGpu, -1).ok());
}

TEST(InstancePlacement, CpuInstanceRefusesFp16) {
  ServeConfig c;
  c.precision = Precision::kFp16;
  auto o = instance_model_options(c, InstanceKind::kCpu, 0);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("KIND_CPU"), std::string::npos);
  c.precision = Precision::kFp32;
  o = instance_model_options(c, InstanceKind::kCpu, 0);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->device, Device::cpu());
  EXPECT_FALSE(o->strict_gpu);
}

TEST(ModelRepository, ConfigTextPerTask) {
  RepositoryOptions o;
  o.name = "people";
  o.task = "pose";
  o.kind = InstanceKind::kGpu;
  o.gpus = {0, 3};
  o.instances = 2;
  o.conf = 0.3f;
  o.imgsz = 320;
  o.batch = BatchProfile(1, 4, 8);
  auto text = model_config_text(o, "model.onnx");
  ASSERT_TRUE(text.ok()) << text.status().message();
  for (const char* want : {"name: \"people\"", "backend: \"kiln\"", "default_model_filename: \"model.onnx\"",
                           "max_batch_size: 8", "name: \"KEYPOINTS\"", "dims: [ -1, -1, 3 ]",
                           "name: \"TENSOR\"\n    data_type: TYPE_FP32\n    dims: [ 3, -1, -1 ]", "kind: KIND_GPU",
                           "gpus: [ 0, 3 ]", "count: 2", "dynamic_batching {\n  max_queue_delay_microseconds: 0\n}",
                           "key: \"conf\"",
                           "string_value: \"0.3\"", "key: \"imgsz\"", "string_value: \"320\"",
                           "string_value: \"1:4:8\""})
    EXPECT_NE(text->find(want), std::string::npos) << want << "\n" << *text;
  for (const char* absent : {"MASKS", "ANGLES", "key: \"iou\"", "key: \"precision\""})
    EXPECT_EQ(text->find(absent), std::string::npos) << absent;

  o.task = "segment";
  o.kind = InstanceKind::kCpu;
  text = model_config_text(o, "model.kiln");
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("name: \"MASKS\""), std::string::npos);
  EXPECT_NE(text->find("kind: KIND_CPU"), std::string::npos);
  EXPECT_EQ(text->find("gpus:"), std::string::npos);  // CPU instances have no devices

  o.task = "";
  EXPECT_FALSE(model_config_text(o, "model.onnx").ok());
}

TEST(ModelRepository, WritesWholeFolderOnce) {
  namespace fs = std::filesystem;
  const fs::path dir = test::temp_dir();
  const fs::path model = dir / "tiny.onnx";
  std::ofstream(model) << "bytes";
  RepositoryOptions o;
  o.name = "tiny";
  o.task = "detect";
  ASSERT_TRUE(write_model_repository(model, dir / "repo", o).ok());
  EXPECT_TRUE(fs::exists(dir / "repo" / "tiny" / "config.pbtxt"));
  EXPECT_EQ(fs::file_size(dir / "repo" / "tiny" / "1" / "model.onnx"), 5u);
  Status again = write_model_repository(model, dir / "repo", o);
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("already exists"), std::string::npos);
  o.name = "../escape";
  EXPECT_FALSE(write_model_repository(model, dir / "repo", o).ok());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "repo"), fs::directory_iterator()), 1);  // no staging left
}

}  // namespace
}  // namespace kiln::triton
