// Model::predict_tensor and run on a DeviceInput (skipped without a GPU): an input the
// caller writes into the model's device memory on the model's stream gives what the same
// values give as a host Tensor, batched (a partial last batch included) and one by one;
// the fill sees every row once, in inference-sized pieces.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>

#include "api/api_test_util.h"
#include "kiln/model.h"
#include "vision/letterbox.h"
#include "vision/image_io.h"

namespace kiln::test {
namespace {

bool gpu_present() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// `host` in device memory, and a DeviceInput whose fill copies rows of it, recording the
// pieces it was asked for.
struct DeviceTensor {
  float* data = nullptr;
  size_t per_row = 0;
  std::vector<std::pair<size_t, size_t>> pieces;  // (first, n) of each fill
  explicit DeviceTensor(const Tensor& host) {
    per_row = host.data.size() / static_cast<size_t>(host.shape[0]);
    EXPECT_EQ(cudaMalloc(&data, host.data.size() * sizeof(float)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(data, host.data.data(), host.data.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceTensor() { cudaFree(data); }
  DeviceInput input(const std::vector<int64_t>& shape) {
    return {shape, [this](float* dst, size_t first, size_t n, void* stream) -> Status {
              pieces.emplace_back(first, n);
              if (cudaMemcpyAsync(dst, data + first * per_row, n * per_row * sizeof(float), cudaMemcpyDeviceToDevice,
                                  static_cast<cudaStream_t>(stream)) != cudaSuccess)
                return error(StatusCode::kInternal, "test fill");
              return Status::Ok();
            }};
  }
};

// `model` on cuda:0 at `batch` images per inference.
Result<Model> load_on_gpu(const std::string& model, int batch) {
  ModelOptions o;
  o.device = Device::cuda(0);
  o.batch = batch;
  o.cache_dir = temp_dir();
  o.strict_gpu = true;
  return Model::load(asset(model), o);
}

Tensor letterboxed(const std::vector<const char*>& names, int size) {
  Tensor t{{static_cast<int64_t>(names.size()), 3, size, size}, {}};
  for (const char* name : names) {
    auto image = vision::decode_image(asset(std::string("images/") + name));
    EXPECT_TRUE(image.ok());
    const std::vector<float> chw = vision::to_nchw_rgb(vision::letterbox(*image, size, size).image);
    t.data.insert(t.data.end(), chw.begin(), chw.end());
  }
  return t;
}

TEST(DeviceInputGpu, PredictTensorEqualsHostTensorInBatches) {
  KILN_REQUIRE_ASSETS();
  if (!gpu_present()) GTEST_SKIP() << "no CUDA device";
  auto model = load_on_gpu("models/yolo11n-dynamic.onnx", 2);  // batch 2: a static-size engine
  ASSERT_TRUE(model.ok()) << model.status().message();
  const Tensor host = letterboxed({"bus.jpg", "zidane.jpg", "person.jpg"}, 640);  // 2 + a partial batch of 1
  auto want = model->predict_tensor(host);
  ASSERT_TRUE(want.ok()) << want.status().message();
  DeviceTensor device(host);
  auto got = model->predict_tensor(device.input(host.shape));
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ(device.pieces, (std::vector<std::pair<size_t, size_t>>{{0, 2}, {2, 1}}));
  for (size_t i = 0; i < 3; ++i) {
    const Prediction &g = (*got)[i], &w = (*want)[i];
    ASSERT_FALSE(w.boxes.empty());
    ASSERT_EQ(g.boxes.size(), w.boxes.size()) << i;
    for (size_t k = 0; k < w.boxes.size(); ++k) {
      EXPECT_EQ(g.boxes[k].class_id, w.boxes[k].class_id);
      EXPECT_NEAR(g.boxes[k].confidence, w.boxes[k].confidence, 1e-5);
      EXPECT_NEAR(g.boxes[k].box.x1, w.boxes[k].box.x1, 1e-3);
      EXPECT_NEAR(g.boxes[k].box.y1, w.boxes[k].box.y1, 1e-3);
      EXPECT_NEAR(g.boxes[k].box.x2, w.boxes[k].box.x2, 1e-3);
      EXPECT_NEAR(g.boxes[k].box.y2, w.boxes[k].box.y2, 1e-3);
    }
    EXPECT_EQ(g.input_width, 640);
    EXPECT_EQ(g.input_height, 640);
  }
  auto refused = model->predict_tensor(device.input({1, 3, 320, 320}));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("[1,3,320,320]"), std::string::npos) << refused.status().message();
}

TEST(DeviceInputGpu, RunEqualsHostTensorForOsnet) {
  KILN_REQUIRE_ASSETS();
  if (!gpu_present()) GTEST_SKIP() << "no CUDA device";
  auto model = load_on_gpu("models/reid/osnet_x0_25_msmt17.onnx", 4);
  ASSERT_TRUE(model.ok()) << model.status().message();
  Tensor host{{4, 3, 256, 128}, std::vector<float>(4 * 3 * 256 * 128)};
  for (size_t i = 0; i < host.data.size(); ++i) host.data[i] = std::sin(static_cast<float>(i) * 0.001f) * 2.f;
  auto want = model->run({&host, 1});
  ASSERT_TRUE(want.ok()) << want.status().message();
  DeviceTensor device(host);
  for (int64_t rows : {4, 3}) {  // 3: the fourth row is padding, its output dropped
    auto got = model->run(device.input({rows, 3, 256, 128}));
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_EQ(got->size(), 1u);
    ASSERT_EQ(got->at(0).shape, (std::vector<int64_t>{rows, 512}));
    for (size_t i = 0; i < got->at(0).data.size(); ++i)
      EXPECT_NEAR(got->at(0).data[i], want->at(0).data[i], 1e-4f * (1 + std::abs(want->at(0).data[i]))) << rows << " " << i;
  }
  auto too_many = model->run(device.input({5, 3, 256, 128}));
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("at most 4 rows"), std::string::npos) << too_many.status().message();
}

}  // namespace
}  // namespace kiln::test
