// Model::predict on frames in device memory (skipped without a GPU): BGR / RGB rows with a
// padded pitch and NV12 planes, copied to the device on a stream of the test's own, give
// exactly the detections of the same frames in host memory (the letterbox kernel converts
// NV12 with vision/nv12.h, as the CPU does, and is bit-identical to the CPU letterbox);
// frames whose planes are not where they say are one-line errors; to_image of a device frame
// equals the host frame's.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include "api/api_test_util.h"
#include "api/frame_test_util.h"
#include "api_gpu/device_copy.h"
#include "kiln/model.h"

namespace kiln::test {
namespace {

bool gpu_present() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

void expect_equal(const Prediction& got, const Prediction& want, const std::string& what) {
  ASSERT_EQ(got.boxes.size(), want.boxes.size()) << what;
  for (size_t i = 0; i < want.boxes.size(); ++i) {
    EXPECT_EQ(got.boxes[i].class_id, want.boxes[i].class_id) << what;
    EXPECT_EQ(got.boxes[i].confidence, want.boxes[i].confidence) << what;
    EXPECT_EQ(got.boxes[i].box.x1, want.boxes[i].box.x1) << what;
    EXPECT_EQ(got.boxes[i].box.y1, want.boxes[i].box.y1) << what;
    EXPECT_EQ(got.boxes[i].box.x2, want.boxes[i].box.x2) << what;
    EXPECT_EQ(got.boxes[i].box.y2, want.boxes[i].box.y2) << what;
  }
}

// An image as the host frames the tests compare: BGR, RGB (channels swapped) and NV12, over
// pixels this object holds (so it stays where it is).
struct HostFrames {
  Image rgb;
  Nv12 nv12;
  std::vector<std::pair<std::string, Frame>> frames;
  explicit HostFrames(const Image& bgr) : rgb(bgr), nv12(to_nv12(bgr)) {
    for (size_t i = 0; i < rgb.pixels.size(); i += 3) std::swap(rgb.pixels[i], rgb.pixels[i + 2]);
    Frame rgb_frame = frame_of(rgb);
    rgb_frame.format = PixelFormat::kRgb;
    frames = {{"bgr", frame_of(bgr)}, {"rgb", rgb_frame}, {"nv12", nv12.frame()}};
  }
  HostFrames(const HostFrames&) = delete;
  HostFrames& operator=(const HostFrames&) = delete;
};

class FrameGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(assets_dir())) GTEST_SKIP() << "assets not found at " << assets_dir();
    if (!gpu_present()) GTEST_SKIP() << "no CUDA device";
    ModelOptions o;
    o.device = Device::cuda(0);
    o.batch = 2;
    o.cache_dir = temp_dir();
    o.strict_gpu = true;
    auto m = Model::load(asset("models/yolo11n-dynamic.onnx"), o);  // batch 2: a dynamic export
    ASSERT_TRUE(m.ok()) << m.status().message();
    model_.emplace(std::move(m).value());
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
  }
  void TearDown() override {
    if (stream_) cudaStreamDestroy(stream_);
  }
  std::optional<Model> model_;
  cudaStream_t stream_ = nullptr;
};

TEST_F(FrameGpu, DeviceFramesEqualHostFrames) {
  for (const char* name : {"bus.jpg", "zidane.jpg"}) {
    auto image = load_image(asset(std::string("images/") + name));
    ASSERT_TRUE(image.ok());
    const HostFrames hosts(*image);
    for (const auto& [what, host] : hosts.frames) {
      auto want = model_->predict(host);
      ASSERT_TRUE(want.ok()) << want.status().message();
      DeviceCopy device(host, stream_);  // the copy is queued on stream_: predict must wait for it
      auto got = model_->predict(device.frame);
      ASSERT_TRUE(got.ok()) << got.status().message();
      expect_equal(*got, *want, std::string(name) + " " + what);
      const Frame pair[] = {device.frame, device.frame};
      auto batch = model_->predict(std::span<const Frame>(pair));
      ASSERT_TRUE(batch.ok()) << batch.status().message();
      for (const Prediction& p : *batch) expect_equal(p, *want, std::string(name) + " " + what + " batch");
    }
  }
}

// to_image of a device frame (converted on the GPU) equals to_image of the same host frame
// (converted on the CPU), byte for byte, for BGR, RGB and NV12 with padded pitches.
TEST_F(FrameGpu, DeviceFrameToImageEqualsHostFrame) {
  auto image = load_image(asset("images/zidane.jpg"));
  ASSERT_TRUE(image.ok());
  const HostFrames hosts(*image);
  for (const auto& [what, host] : hosts.frames) {
    auto want = to_image(host);
    ASSERT_TRUE(want.ok()) << want.status().message();
    DeviceCopy device(host, stream_);
    auto got = to_image(device.frame);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(got->width, want->width) << what;
    EXPECT_EQ(got->height, want->height) << what;
    EXPECT_TRUE(got->pixels == want->pixels) << what;
  }
}

TEST_F(FrameGpu, PlanesNotWhereTheFrameSaysAreErrors) {
  auto image = load_image(asset("images/bus.jpg"));
  ASSERT_TRUE(image.ok());
  Frame host = frame_of(*image);
  host.memory = FrameMemory::kDevice;
  auto r = model_->predict(host);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "frame 0: plane 0 is not device memory (the frame says device)");
  DeviceCopy device(frame_of(*image), stream_);
  Frame lying = device.frame;
  lying.memory = FrameMemory::kHost;
  r = model_->predict(lying);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "frame 0: plane 0 is device memory (the frame says host)");
}

}  // namespace
}  // namespace kiln::test
