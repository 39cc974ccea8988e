// Model::predict on host frames (kiln/frame.h): an NV12 frame made from an asset image
// gives the detections of its own BGR conversion exactly and those of the original image
// within the conversion's rounding; padded and RGB rows give the image's detections; bad
// frames are one-line errors naming the problem; a device frame on a CPU model is refused.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

#include "api/api_test_util.h"
#include "api/frame_test_util.h"
#include "kiln/model.h"

namespace kiln::test {
namespace {

// One CPU model for the suite: loading it costs more than the predictions.
Model& cpu_model() {
  static std::optional<Model> model = [] {
    ModelOptions o;
    o.cache_dir = temp_dir();
    auto m = Model::load(asset("models/yolo11n.onnx"), o);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? std::optional<Model>(std::move(m).value()) : std::nullopt;
  }();
  if (!model) throw std::runtime_error("yolo11n.onnx did not load");
  return *model;
}

Image bus() {
  auto image = load_image(asset("images/bus.jpg"));
  EXPECT_TRUE(image.ok()) << image.status().message();
  return std::move(image).value();
}

TEST(ApiFrame, Nv12FrameGivesTheDetectionsOfItsBgrConversion) {
  KILN_REQUIRE_ASSETS();
  Model& model = cpu_model();
  const Image image = bus();
  const Nv12 nv12 = to_nv12(image);
  auto from_nv12 = model.predict(nv12.frame());
  ASSERT_TRUE(from_nv12.ok()) << from_nv12.status().message();
  auto converted = to_image(nv12.frame());
  ASSERT_TRUE(converted.ok()) << converted.status().message();
  auto from_bgr = model.predict(*converted);
  ASSERT_TRUE(from_bgr.ok());
  ASSERT_EQ(from_nv12->boxes.size(), from_bgr->boxes.size());
  for (size_t i = 0; i < from_bgr->boxes.size(); ++i) {
    EXPECT_EQ(from_nv12->boxes[i].class_id, from_bgr->boxes[i].class_id);
    EXPECT_EQ(from_nv12->boxes[i].confidence, from_bgr->boxes[i].confidence);
    EXPECT_EQ(from_nv12->boxes[i].box.x1, from_bgr->boxes[i].box.x1);
    EXPECT_EQ(from_nv12->boxes[i].box.y2, from_bgr->boxes[i].box.y2);
  }
  // Against the original: 4:2:0 chroma and 8-bit YUV rounding move each colour by a few
  // levels, so the same objects within a few hundredths of confidence and 2 px.
  auto original = model.predict(image);
  ASSERT_TRUE(original.ok());
  ASSERT_EQ(from_nv12->boxes.size(), original->boxes.size());
  const Deviation d = compare_detections(from_nv12->boxes, original->boxes);
  std::printf("NV12 round trip vs the BGR image: conf %.4f, box %.3f px\n", d.conf, d.box);
  EXPECT_LE(d.conf, 0.03);
  EXPECT_LE(d.box, 2.0);
}

TEST(ApiFrame, ConversionMatchesHandCheckedValues) {
  // cv2.cvtColor(..., COLOR_YUV2BGR_NV12) on 2x2 blocks of (Y, U, V): black, white, mid
  // gray, and saturated red, green, blue.
  const struct {
    uint8_t y, u, v, b, g, r;
  } cases[] = {{16, 128, 128, 0, 0, 0},   {235, 128, 128, 255, 255, 255}, {126, 128, 128, 128, 128, 128},
               {81, 90, 240, 0, 0, 254},  {145, 54, 34, 1, 255, 0},       {41, 240, 110, 255, 0, 0}};
  for (const auto& c : cases) {
    const uint8_t luma[4] = {c.y, c.y, c.y, c.y}, chroma[2] = {c.u, c.v};
    Frame f;
    f.width = f.height = 2, f.format = PixelFormat::kNv12;
    f.planes[0] = luma, f.planes[1] = chroma, f.pitch[0] = f.pitch[1] = 2;
    auto image = to_image(f);
    ASSERT_TRUE(image.ok()) << image.status().message();
    for (int p = 0; p < 4; ++p) {
      EXPECT_EQ(image->pixels[p * 3 + 0], c.b) << int(c.y) << "," << int(c.u) << "," << int(c.v);
      EXPECT_EQ(image->pixels[p * 3 + 1], c.g) << int(c.y) << "," << int(c.u) << "," << int(c.v);
      EXPECT_EQ(image->pixels[p * 3 + 2], c.r) << int(c.y) << "," << int(c.u) << "," << int(c.v);
    }
  }
}

TEST(ApiFrame, PaddedAndRgbRowsGiveTheImagesDetections) {
  KILN_REQUIRE_ASSETS();
  Model& model = cpu_model();
  const Image image = bus();
  auto want = model.predict(image);
  ASSERT_TRUE(want.ok());
  const std::vector<uint8_t> padded = padded_rows(image, 40);
  Frame f = frame_of(image);
  f.planes[0] = padded.data();
  f.pitch[0] = static_cast<size_t>(image.width) * 3 + 40;
  Image rgb = image;
  for (size_t i = 0; i < rgb.pixels.size(); i += 3) std::swap(rgb.pixels[i], rgb.pixels[i + 2]);
  Frame g = frame_of(rgb);
  g.format = PixelFormat::kRgb;
  const Frame both[] = {f, g};
  auto got = model.predict(std::span<const Frame>(both));
  ASSERT_TRUE(got.ok()) << got.status().message();
  for (const Prediction& p : *got) {
    ASSERT_EQ(p.boxes.size(), want->boxes.size());
    for (size_t i = 0; i < p.boxes.size(); ++i) {
      EXPECT_EQ(p.boxes[i].confidence, want->boxes[i].confidence);
      EXPECT_EQ(p.boxes[i].box.x1, want->boxes[i].box.x1);
    }
  }
}

TEST(ApiFrame, BadFramesAreOneLineErrors) {
  KILN_REQUIRE_ASSETS();
  Model& model = cpu_model();
  const Image image = bus();
  const Nv12 nv12 = to_nv12(image);
  auto expect_error = [&](const Frame& f, const std::string& want) {
    auto r = model.predict(f);
    ASSERT_FALSE(r.ok()) << want;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
  };
  Frame f = frame_of(image);
  f.pitch[0] = static_cast<size_t>(image.width) * 3 - 1;
  expect_error(f, "frame 0: frame 810x1080: plane 0 pitch 2429 is shorter than a row (2430 bytes)");
  f = frame_of(image);
  f.planes[0] = nullptr;
  expect_error(f, "plane 0 is null");
  Frame n = nv12.frame();
  n.planes[1] = nullptr;
  expect_error(n, "plane 1 is null");
  n = nv12.frame();
  n.width -= 1;
  expect_error(n, "NV12 frame 809x1080 has an odd size");
  n = nv12.frame();
  n.pitch[1] = 100;
  expect_error(n, "plane 1 pitch 100 is shorter than a row");
  n = nv12.frame();
  n.memory = FrameMemory::kDevice;
  expect_error(n, "frames in device memory need a model on a GPU, this one runs on cpu");
  const Frame mixed[] = {nv12.frame(), n};
  auto r = model.predict(std::span<const Frame>(mixed));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "frame 1 is in device memory but frame 0 in host memory; one call takes frames of one kind");
  auto img = to_image(n);
  ASSERT_FALSE(img.ok());
  // Host pixels the frame calls device memory: refused by a CUDA build, which converts device
  // frames on their GPU (api_gpu tests), and by one without CUDA.
  const std::string why = img.status().message();
  EXPECT_TRUE(why == "frame 810x1080: plane 0 is not device memory (the frame says device)" ||
              why == "frame 810x1080 is in device memory; this kiln was built without CUDA")
      << why;
}

}  // namespace
}  // namespace kiln::test
