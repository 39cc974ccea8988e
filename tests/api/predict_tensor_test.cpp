// Model::predict_tensor: an input preprocessed by the caller gives exactly what predict gives
// for an image whose letterbox is the identity (its size is the model's input size), one by
// one and batched; shapes the model does not take are refused with the shape in the message.
#include <gtest/gtest.h>

#include "api/api_test_util.h"
#include "kiln/model.h"

namespace kiln::test {
namespace {

// The top-left width x height pixels of an asset image.
Image crop(const char* name, int width, int height) {
  auto image = load_image(asset(std::string("images/") + name));
  EXPECT_TRUE(image.ok()) << image.status().message();
  Image out(width, height);
  if (!image.ok()) return out;
  for (int y = 0; y < height; ++y)
    std::copy_n(image->pixels.begin() + static_cast<ptrdiff_t>(y) * image->width * 3, width * 3,
                out.pixels.begin() + static_cast<ptrdiff_t>(y) * width * 3);
  return out;
}

// What predict's preprocessing makes of an image whose letterbox is the identity: RGB
// planes scaled to [0, 1].
void append_nchw(const Image& image, Tensor& t) {
  const size_t plane = static_cast<size_t>(image.width) * image.height;
  for (int c = 0; c < 3; ++c)
    for (size_t i = 0; i < plane; ++i) t.data.push_back(image.pixels[i * 3 + (2 - c)] / 255.0f);
}

void expect_same(const Prediction& a, const Prediction& b) {
  ASSERT_EQ(a.boxes.size(), b.boxes.size());
  for (size_t i = 0; i < a.boxes.size(); ++i) {
    EXPECT_EQ(a.boxes[i].class_id, b.boxes[i].class_id) << i;
    EXPECT_EQ(a.boxes[i].confidence, b.boxes[i].confidence) << i;
    const Box &x = a.boxes[i].box, &y = b.boxes[i].box;
    EXPECT_EQ(x.x1, y.x1) << i;
    EXPECT_EQ(x.y1, y.y1) << i;
    EXPECT_EQ(x.x2, y.x2) << i;
    EXPECT_EQ(x.y2, y.y2) << i;
  }
  EXPECT_EQ(a.input_width, b.input_width);
  EXPECT_EQ(a.input_height, b.input_height);
}

TEST(ApiPredictTensor, StaticModelEqualsPredictAndRefusesOtherShapes) {
  KILN_REQUIRE_ASSETS();
  ModelOptions o;
  o.cache_dir = temp_dir();
  auto model = Model::load(asset("models/yolo11n.onnx"), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const Image images[] = {crop("bus.jpg", 640, 640), crop("zidane.jpg", 640, 640)};
  Tensor batch{{2, 3, 640, 640}, {}};
  for (const Image& image : images) append_nchw(image, batch);
  auto got = model->predict_tensor(batch);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    auto want = model->predict(images[i]);
    ASSERT_TRUE(want.ok()) << want.status().message();
    ASSERT_FALSE(want->boxes.empty());
    expect_same((*got)[i], *want);
  }

  const Tensor wrong_size{{1, 3, 320, 320}, std::vector<float>(3 * 320 * 320)};
  const Tensor wrong_rank{{3, 640, 640}, std::vector<float>(3 * 640 * 640)};
  const Tensor short_data{{1, 3, 640, 640}, std::vector<float>(10)};
  for (const Tensor* t : {&wrong_size, &wrong_rank, &short_data}) {
    auto r = model->predict_tensor(*t);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("yolo11n.onnx"), std::string::npos) << r.status().message();
  }
}

TEST(ApiPredictTensor, DynamicModelTakesStrideMultiples) {
  KILN_REQUIRE_ASSETS();
  auto model = Model::load(asset("models/yolo11n-dynamic.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  const Image image = crop("bus.jpg", 320, 640);
  Tensor t{{1, 3, 640, 320}, {}};
  append_nchw(image, t);
  auto got = model->predict_tensor(t);
  ASSERT_TRUE(got.ok()) << got.status().message();
  auto want = model->predict(image);
  ASSERT_TRUE(want.ok()) << want.status().message();
  ASSERT_FALSE(want->boxes.empty());
  expect_same(got->at(0), *want);

  Tensor odd{{1, 3, 100, 320}, std::vector<float>(3 * 100 * 320)};
  auto refused = model->predict_tensor(odd);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("[1,3,100,320]"), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find("multiples of 32"), std::string::npos) << refused.status().message();
}

// An input in device memory needs a model on a GPU: a CPU model refuses it (predict_tensor
// and run) before the fill runs, naming the file; a DeviceInput without a fill likewise.
TEST(ApiPredictTensor, CpuModelRefusesDeviceInputs) {
  KILN_REQUIRE_ASSETS();
  ModelOptions o;
  o.cache_dir = temp_dir();
  auto model = Model::load(asset("models/yolo11n.onnx"), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  bool filled = false;
  DeviceInput input{{1, 3, 640, 640}, [&](float*, size_t, size_t, void*) {
                      filled = true;
                      return Status::Ok();
                    }};
  auto predicted = model->predict_tensor(input);
  ASSERT_FALSE(predicted.ok());
  EXPECT_EQ(predicted.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(predicted.status().message().find("yolo11n.onnx: a device input needs a model on a GPU"), std::string::npos)
      << predicted.status().message();
  auto ran = model->run(input);
  ASSERT_FALSE(ran.ok());
  EXPECT_NE(ran.status().message().find("needs a model on a GPU"), std::string::npos) << ran.status().message();
  EXPECT_FALSE(filled);
  input.fill = nullptr;
  auto unfilled = model->predict_tensor(input);
  ASSERT_FALSE(unfilled.ok());
  EXPECT_NE(unfilled.status().message().find("needs a fill function"), std::string::npos) << unfilled.status().message();
  input.shape = {1, 3, 320, 640};
  auto wrong = model->run(input);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("[1,3,320,640]"), std::string::npos) << wrong.status().message();
}

}  // namespace
}  // namespace kiln::test
