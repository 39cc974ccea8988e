// Model::run for a model that is not a YOLO detector: the OSNet re-identification
// embedder, against ONNX Runtime on the same input (tests/tools/ort_reference.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "kiln/model.h"
#include "support/test_support.h"

namespace kiln::test {
namespace {

namespace fs = std::filesystem;

TEST(ApiRawRun, OsnetEmbeddingMatchesOnnxRuntime) {
  KILN_REQUIRE_ASSETS();
  const fs::path dir = temp_dir();
  const fs::path model_path = asset("models/reid/osnet_x0_25_msmt17.onnx");
  ModelOptions o;
  o.cache_dir = dir;
  auto model = Model::load(model_path, o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const ModelInfo& info = model->info();
  EXPECT_TRUE(info.task.empty()) << info.task;
  ASSERT_EQ(info.inputs.size(), 1u);
  ASSERT_EQ(info.outputs.size(), 1u);
  const std::vector<int64_t> shape = info.inputs[0].shape;
  ASSERT_EQ(shape.size(), 4u);
  EXPECT_EQ(shape[0], 1);
  EXPECT_EQ(shape[1], 3);

  // predict() needs a YOLO task.
  Image image(64, 128, 90);
  auto pred = model->predict(image);
  ASSERT_FALSE(pred.ok());
  EXPECT_EQ(pred.status().code(), StatusCode::kUnsupported);

  Tensor in{shape, std::vector<float>(shape[0] * shape[1] * shape[2] * shape[3])};
  for (size_t i = 0; i < in.data.size(); ++i) in.data[i] = std::sin(0.01f * static_cast<float>(i)) * 2.f;
  auto out = model->run({&in, 1});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].shape, info.outputs[0].shape);

  const fs::path raw = dir / "input.raw";
  std::ofstream(raw, std::ios::binary).write(reinterpret_cast<const char*>(in.data.data()),
                                              static_cast<std::streamsize>(in.data.size() * sizeof(float)));
  std::string dims = std::to_string(shape[0]) + "," + std::to_string(shape[1]) + "," + std::to_string(shape[2]) +
                     "," + std::to_string(shape[3]);
  std::string cmd = "python3 " + (source_dir() / "tests/tools/ort_reference.py").string() + " " + model_path.string() +
                    " " + raw.string() + " " + dims + " " + (dir / "ort").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream f(dir / "ort" / "output0.raw", std::ios::binary);
  std::vector<float> want((*out)[0].data.size());
  f.read(reinterpret_cast<char*>(want.data()), static_cast<std::streamsize>(want.size() * sizeof(float)));
  ASSERT_EQ(f.gcount(), static_cast<std::streamsize>(want.size() * sizeof(float)));
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs((*out)[0].data[i] - want[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(want[i])));
  }
  std::printf("osnet embedding vs ONNX Runtime: max |diff| %.3g, max |ref| %.3g\n", diff, scale);
  EXPECT_LE(diff, 1e-4 * std::max(1.0, scale));
}

}  // namespace
}  // namespace kiln::test
