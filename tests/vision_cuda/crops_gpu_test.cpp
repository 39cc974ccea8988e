// fit_crops (one launch for every crop of a frame) equals vision::fit_crop of each crop
// followed by the input conversion, value for value: x / 255 into RGB planes (predict
// stages, vision::to_nchw_rgb) and ImageNet's (x / 255 - mean) / std (embed stages, the
// arithmetic of pipeline::embed_input). Real crops of asset images as BGR, RGB and NV12
// frames in pitched device memory, both fits, regions touching each edge of the frame,
// 1-pixel regions and odd offsets (NV12's chroma then starts mid-block), and the sizes that
// take OpenCV's other paths (same size, exact 2x). Every case is exact: the kernel runs
// the CPU's integer resize and the same rounded float steps (-fmad=false).
#include <cuda_runtime.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/frame_test_util.h"
#include "support/test_support.h"
#include "vision/crop.h"
#include "vision/frame_convert.h"
#include "vision/image_io.h"
#include "vision/letterbox.h"
#include "vision_cuda/device_source.h"
#include "vision_cuda/gpu_decode_check.h"
#include "vision_cuda/letterbox_gpu.h"

namespace kiln::test {
namespace {

using vision::CropPlacement;
using vision::CropRegion;

constexpr float kMean[3] = {0.485f, 0.456f, 0.406f}, kStd[3] = {0.229f, 0.224f, 0.225f};  // RGB

vision_cuda::InputScaling imagenet() {
  vision_cuda::InputScaling s;
  s.standardize = true;
  for (int c = 0; c < 3; ++c) s.mean[c] = kMean[c], s.std[c] = kStd[c];
  return s;
}

// The CPU's inputs: each crop fitted, then converted.
std::vector<float> cpu_inputs(const vision::Image& frame, const std::vector<CropPlacement>& crops, bool standardize) {
  std::vector<float> out;
  for (const CropPlacement& p : crops) {
    std::vector<float> one = vision::to_nchw_rgb(vision::fit_crop(frame, p));
    const size_t plane = one.size() / 3;
    if (standardize)
      for (size_t i = 0; i < one.size(); ++i) one[i] = (one[i] - kMean[i / plane]) / kStd[i / plane];
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

std::vector<float> gpu_inputs(const DeviceSource& src, const std::vector<CropPlacement>& crops, bool standardize) {
  std::vector<vision_cuda::LetterboxLayout> layouts;
  for (const CropPlacement& p : crops) layouts.push_back(vision_cuda::crop_layout(p));
  const size_t n = crops.size() * 3 * crops[0].input_width * crops[0].input_height;
  float* dst = nullptr;
  EXPECT_EQ(cudaMalloc(&dst, n * sizeof(float)), cudaSuccess);
  cudaStream_t stream = nullptr;
  EXPECT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  const Status st = vision_cuda::fit_crops(src.source(), layouts, standardize ? imagenet() : vision_cuda::InputScaling{},
                                           dst, stream);
  EXPECT_TRUE(st.ok()) << st.message();
  std::vector<float> out(n);
  EXPECT_EQ(cudaMemcpyAsync(out.data(), dst, n * sizeof(float), cudaMemcpyDeviceToHost, stream), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  cudaStreamDestroy(stream);
  cudaFree(dst);
  return out;
}

// The regions cropped from a width x height frame: boxes of objects grown as a stage's
// padding grows them (clamped at the frame's edges) and hand-placed regions for the
// resize paths and the smallest crops.
std::vector<CropRegion> regions(int width, int height) {
  std::vector<CropRegion> out;
  for (const vision::BoxXyxy& box : std::vector<vision::BoxXyxy>{
           {50.4f, 400.7f, 250.2f, 899.9f},                                               // a person
           {-3.f, -8.f, 120.5f, 301.3f},                                                  // beyond the top-left corner
           {width - 99.5f, height - 51.f, width + 20.f, height + 10.f},                   // beyond the bottom-right
           {0.f, 10.f, static_cast<float>(width), static_cast<float>(height) - 10.f}})    // the whole width
    out.push_back(vision::crop_region(box, width, height, 1.2, 0));
  out.push_back({101, 37, 102, 38});                // one pixel, odd offset
  out.push_back({width - 1, height - 1, width, height});  // the last pixel
  out.push_back({333, 211, 334, 466});              // one column
  out.push_back({7, height - 2, width - 3, height - 1});  // one row near the bottom
  out.push_back({333, 211, 333 + 127, 211 + 255});  // odd offset and size
  out.push_back({100, 40, 356, 552});               // 256 x 512: exact 2x into 128 x 256
  out.push_back({41, 3, 169, 259});                 // 128 x 256: no resize at 128 x 256
  return out;
}

struct DeviceFrame {
  std::string name;
  vision::Image bgr;  // what the CPU crops: the frame as the CPU converts it
  std::unique_ptr<DeviceSource> device;
};

// A frame as BGR, RGB and NV12 in device memory, each with the BGR image the CPU sees.
std::vector<DeviceFrame> frames_of(const std::string& name, const vision::Image& image) {
  std::vector<DeviceFrame> out;
  const size_t row = static_cast<size_t>(image.width) * 3;
  out.push_back({name + " bgr", image,
                 std::make_unique<DeviceSource>(PixelFormat::kBgr, image.height,
                                                std::vector<std::pair<const uint8_t*, size_t>>{{image.pixels.data(), row}})});
  std::vector<uint8_t> rgb = image.pixels;
  for (size_t i = 0; i < rgb.size(); i += 3) std::swap(rgb[i], rgb[i + 2]);
  out.push_back({name + " rgb", image,
                 std::make_unique<DeviceSource>(PixelFormat::kRgb, image.height,
                                                std::vector<std::pair<const uint8_t*, size_t>>{{rgb.data(), row}})});
  Image api;
  api.width = image.width, api.height = image.height, api.pixels = image.pixels;
  const Nv12 nv12 = to_nv12(api);
  const size_t w = static_cast<size_t>(nv12.width);
  out.push_back({name + " nv12", vision::nv12_to_bgr(nv12.luma.data(), w, nv12.chroma.data(), w, nv12.width, nv12.height),
                 std::make_unique<DeviceSource>(PixelFormat::kNv12, nv12.height,
                                                std::vector<std::pair<const uint8_t*, size_t>>{
                                                    {nv12.luma.data(), w}, {nv12.chroma.data(), w}})});
  return out;
}

// For each crop, how many of its input values the GPU's fit_crops and the CPU's fit_crop
// give differently (empty when the sizes differ).
std::vector<size_t> differing_per_crop(const DeviceFrame& f, const std::vector<CropPlacement>& crops, bool standardize) {
  const std::vector<float> want = cpu_inputs(f.bgr, crops, standardize);
  const std::vector<float> got = gpu_inputs(*f.device, crops, standardize);
  if (got.size() != want.size()) return {};
  const size_t per_crop = want.size() / crops.size();
  std::vector<size_t> differing(crops.size(), 0);
  for (size_t i = 0; i < want.size(); ++i) differing[i / per_crop] += got[i] != want[i];
  return differing;
}

TEST(FitCropsGpu, RealCropsEqualCpuFitCropExactly) {
  KILN_REQUIRE_ASSETS();
  KILN_REQUIRE_GPU();
  for (const char* name : {"bus.jpg", "zidane.jpg"}) {
    auto image = vision::decode_image(asset(std::string("images/") + name));
    ASSERT_TRUE(image.ok()) << image.status().message();
    for (const DeviceFrame& f : frames_of(name, *image)) {
      // input width x height: OSNet's 128 x 256, a pose model's 640, a plate detector's 416 x 224
      for (const auto& [iw, ih] : std::vector<std::pair<int, int>>{{128, 256}, {640, 640}, {416, 224}})
        for (CropFit fit : {CropFit::kResize, CropFit::kLetterbox}) {
          std::vector<CropPlacement> crops;
          for (const CropRegion& r : regions(f.bgr.width, f.bgr.height))
            if (!r.empty()) crops.push_back(vision::place_crop(r, fit, iw, ih));
          ASSERT_EQ(crops.size(), 11u) << f.name;
          for (bool standardize : {false, true}) {
            const std::vector<size_t> differing = differing_per_crop(f, crops, standardize);
            ASSERT_EQ(differing.size(), crops.size());
            for (size_t k = 0; k < crops.size(); ++k) {
              const CropRegion& r = crops[k].region;
              EXPECT_EQ(differing[k], 0u) << f.name << " crop [" << r.x1 << ", " << r.y1 << ", " << r.x2 << ", " << r.y2
                                       << ") into " << iw << "x" << ih << (fit == CropFit::kResize ? " resized" : " letterboxed")
                                       << (standardize ? ", ImageNet scaling" : ", /255");
            }
          }
        }
    }
  }
}

// More crops than one launch carries (32): 77 crops take three launches, each writing
// its crops after the previous launch's.
TEST(FitCropsGpu, CropsBeyondOneLaunchEqualCpu) {
  KILN_REQUIRE_ASSETS();
  KILN_REQUIRE_GPU();
  auto image = vision::decode_image(asset("images/zidane.jpg"));
  ASSERT_TRUE(image.ok()) << image.status().message();
  const std::vector<DeviceFrame> frames = frames_of("zidane.jpg", *image);
  const DeviceFrame& f = frames[0];
  std::vector<CropPlacement> crops;
  for (int round = 0; round < 7; ++round)
    for (const CropRegion& r : regions(f.bgr.width, f.bgr.height))
      crops.push_back(vision::place_crop(r, round % 2 ? CropFit::kResize : CropFit::kLetterbox, 128, 256));
  ASSERT_EQ(crops.size(), 77u);
  const std::vector<size_t> differing = differing_per_crop(f, crops, true);
  ASSERT_EQ(differing.size(), crops.size());
  for (size_t k = 0; k < crops.size(); ++k) EXPECT_EQ(differing[k], 0u) << "crop " << k << " of 77";
}

// Crops of other input sizes in one launch are refused, naming both sizes.
TEST(FitCropsGpu, MixedInputSizesAreRefused) {
  KILN_REQUIRE_GPU();
  vision::Image image(64, 64, 7);
  const DeviceSource src(PixelFormat::kBgr, 64, {{image.pixels.data(), 64 * 3}});
  const std::vector<vision_cuda::LetterboxLayout> layouts = {
      vision_cuda::crop_layout(vision::place_crop({0, 0, 10, 10}, CropFit::kResize, 32, 32)),
      vision_cuda::crop_layout(vision::place_crop({0, 0, 10, 10}, CropFit::kResize, 16, 32))};
  const Status st = vision_cuda::fit_crops(src.source(), layouts, {}, nullptr, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("16x32"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace kiln::test
