// NVDEC through FFmpeg's CUDA hwaccel (skipped without a GPU) against the CPU decoder on
// the assets' 720p H.264 video. Both decode the same YUV 4:2:0 samples; the CPU path
// converts them with swscale (bicubic chroma upsampling) and the NVDEC frames here with
// vision/nv12.h (each chroma sample for its 2x2 block, as OpenCV), so the BGR frames differ
// by the chroma interpolation only: 1.37 levels mean absolute difference on this video's
// first frames (ffmpeg's bgr24 vs cv2's NV12 conversion, max 21 at sharp colour edges).
// Tolerance: mean <= 2.0 levels per frame. Detections on the device frames equal those on
// the CPU decoder's frames within what that difference moves: the same objects (matched
// by class and IoU >= 0.5) for >= 95% of detections, confidences within 0.05, and 95% of
// matched boxes within 3 px, all within 10 px (those differences move the edges of small,
// half-hidden vehicles: 7.6 px at worst over this test's 424 detections on an H200).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "api/api_test_util.h"
#include "kiln/model.h"
#include "video/video_io.h"

namespace kiln::test {
namespace {

constexpr int kFrames = 30;

bool gpu_present() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

std::filesystem::path clip() { return asset("video/traffic_highway_720p_30s.mp4"); }

Frame device_frame(const video::DeviceFrame& d) {
  Frame f;
  f.width = d.width, f.height = d.height, f.format = PixelFormat::kNv12, f.memory = FrameMemory::kDevice;
  for (int p = 0; p < 2; ++p) f.planes[p] = d.planes[p], f.pitch[p] = d.pitch[p];
  return f;
}

// The frame's pixels on the host, BGR (to_image converts a device frame on its GPU exactly
// as the CPU converts NV12: FrameGpu.DeviceFrameToImageEqualsHostFrame).
Result<Image> downloaded(const video::DeviceFrame& d) { return to_image(device_frame(d)); }

class Nvdec : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(clip())) GTEST_SKIP() << clip() << " not in the assets";
    if (!gpu_present()) GTEST_SKIP() << "no CUDA device";
    auto gpu = video::VideoReader::open(clip(), 0);
    ASSERT_TRUE(gpu.ok()) << gpu.status().message();
    ASSERT_TRUE(gpu->decoder().gpu) << "NVDEC not chosen: " << gpu->decoder().reason;
    auto cpu = video::VideoReader::open(clip());
    ASSERT_TRUE(cpu.ok()) << cpu.status().message();
    gpu_.emplace(std::move(gpu).value());
    cpu_.emplace(std::move(cpu).value());
  }
  std::optional<video::VideoReader> gpu_, cpu_;
};

TEST_F(Nvdec, FramesEqualTheCpuDecodersWithinChromaInterpolation) {
  double worst = 0;
  for (int i = 0; i < kFrames; ++i) {
    video::DeviceFrame d;
    std::vector<uint8_t> bgr;
    auto a = gpu_->read_device(d);
    auto b = cpu_->read(bgr);
    ASSERT_TRUE(a.ok() && b.ok()) << a.status().message() << " / " << b.status().message();
    ASSERT_TRUE(*a && *b);
    auto image = downloaded(d);
    ASSERT_TRUE(image.ok()) << image.status().message();
    ASSERT_EQ(image->pixels.size(), bgr.size());
    double sum = 0;
    for (size_t k = 0; k < bgr.size(); ++k) sum += std::abs(static_cast<int>(image->pixels[k]) - bgr[k]);
    const double mean = sum / static_cast<double>(bgr.size());
    worst = std::max(worst, mean);
    EXPECT_LE(mean, 2.0) << "frame " << i + 1;
  }
  std::printf("NVDEC vs CPU decoder: worst mean abs difference %.3f levels over %d frames\n", worst, kFrames);
}

TEST_F(Nvdec, DetectionsEqualTheCpuDecodersWithinTolerance) {
  ModelOptions o;
  o.device = Device::cuda(0);
  o.cache_dir = temp_dir();
  o.strict_gpu = true;
  auto model = Model::load(asset("models/yolo11n.onnx"), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  size_t total = 0, matched = 0;
  double conf = 0;
  std::vector<double> box;  // each matched box's largest edge difference
  for (int i = 0; i < kFrames; ++i) {
    video::DeviceFrame d;
    std::vector<uint8_t> bgr;
    ASSERT_TRUE(*gpu_->read_device(d));
    ASSERT_TRUE(*cpu_->read(bgr));
    auto got = model->predict(device_frame(d));
    ASSERT_TRUE(got.ok()) << got.status().message();
    Image image(d.width, d.height);
    image.pixels = std::move(bgr);
    auto want = model->predict(image);
    ASSERT_TRUE(want.ok()) << want.status().message();
    std::vector<bool> used(got->boxes.size(), false);
    for (const Detection& w : want->boxes) {
      ++total;
      int best = -1;
      for (size_t k = 0; k < got->boxes.size(); ++k)
        if (!used[k] && got->boxes[k].class_id == w.class_id && iou(got->boxes[k].box, w.box) >= 0.5f &&
            (best < 0 || iou(got->boxes[k].box, w.box) > iou(got->boxes[best].box, w.box)))
          best = static_cast<int>(k);
      if (best < 0) continue;
      used[best] = true;
      ++matched;
      const Detection& g = got->boxes[best];
      conf = std::max(conf, static_cast<double>(std::fabs(g.confidence - w.confidence)));
      double edge = 0;
      for (float dv : {g.box.x1 - w.box.x1, g.box.y1 - w.box.y1, g.box.x2 - w.box.x2, g.box.y2 - w.box.y2})
        edge = std::max(edge, static_cast<double>(std::fabs(dv)));
      box.push_back(edge);
    }
    total += std::count(used.begin(), used.end(), false);  // NVDEC-only detections count as unmatched
  }
  ASSERT_FALSE(box.empty());
  std::sort(box.begin(), box.end());
  const double p95 = box[box.size() * 95 / 100], worst = box.back();
  std::printf("NVDEC vs CPU decoder detections: %zu of %zu matched, conf %.4f, box p95 %.3f px, max %.3f px\n",
              matched, total, conf, p95, worst);
  EXPECT_GE(static_cast<double>(matched), 0.95 * static_cast<double>(total));
  EXPECT_LE(conf, 0.05);
  EXPECT_LE(p95, 3.0);
  EXPECT_LE(worst, 10.0);
}

// The CLI loads its model before it opens the video, so the CUDA runtime has created the
// device's primary context (with its default scheduling flags) by then: NVDEC must still
// be chosen, on that same context.
TEST(NvdecAfterRuntime, OpensOnTheRuntimesPrimaryContext) {
  if (!std::filesystem::exists(clip())) GTEST_SKIP() << clip() << " not in the assets";
  if (!gpu_present()) GTEST_SKIP() << "no CUDA device";
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  ASSERT_EQ(cudaFree(nullptr), cudaSuccess);  // the runtime makes the primary context current
  auto reader = video::VideoReader::open(clip(), 0);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  ASSERT_TRUE(reader->decoder().gpu) << "NVDEC not chosen: " << reader->decoder().reason;
  video::DeviceFrame d;
  auto got = reader->read_device(d);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(*got);
  // The frame is readable from the runtime's context: a copy on the runtime's stream works.
  std::vector<uint8_t> row(static_cast<size_t>(d.width));
  EXPECT_EQ(cudaMemcpy(row.data(), d.planes[0], row.size(), cudaMemcpyDeviceToHost), cudaSuccess);
}

}  // namespace
}  // namespace kiln::test
