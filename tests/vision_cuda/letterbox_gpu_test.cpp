// The GPU letterbox equals vision::letterbox / letterbox_min_pad + to_nchw_rgb exactly
// (same floats) on every asset image and on sizes that take OpenCV's other paths (exact
// 2x downscale, no resize, upscale, odd widths), BGR and RGB input with padded rows, and
// NV12 planes converted as the CPU converts them.
#include <cuda_runtime.h>

#include <array>
#include <cstring>
#include <utility>

#include "support/test_support.h"
#include "vision/image_io.h"
#include "vision/classify.h"
#include "vision/frame_convert.h"
#include "vision/letterbox.h"
#include "vision_cuda/device_source.h"
#include "vision_cuda/gpu_decode_check.h"
#include "vision_cuda/classify_crop_gpu.h"
#include "vision_cuda/letterbox_gpu.h"

namespace kiln::test {
namespace {

// The letterbox of a source in device memory whose rows are padded beyond their length.
std::vector<float> gpu_letterbox(const vision_cuda::LetterboxLayout& l, PixelFormat format,
                                 const std::vector<std::pair<const uint8_t*, size_t>>& planes) {
  const DeviceSource src(format, l.src_height, planes);
  float* dst = nullptr;
  const size_t n = static_cast<size_t>(3) * l.height * l.width;
  EXPECT_EQ(cudaMalloc(&dst, n * sizeof(float)), cudaSuccess);
  EXPECT_TRUE(vision_cuda::letterbox(src.source(), l, dst, nullptr).ok());
  std::vector<float> out(n);
  EXPECT_EQ(cudaMemcpy(out.data(), dst, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  cudaFree(dst);
  return out;
}

std::vector<float> gpu_letterbox(const vision::Image& image, int th, int tw, int stride, bool rgb, int& out_h, int& out_w) {
  const vision_cuda::LetterboxLayout l = vision_cuda::letterbox_layout(image.width, image.height, th, tw, stride);
  out_h = l.height, out_w = l.width;
  std::vector<uint8_t> pixels = image.pixels;
  if (rgb)
    for (size_t i = 0; i < pixels.size(); i += 3) std::swap(pixels[i], pixels[i + 2]);
  return gpu_letterbox(l, rgb ? PixelFormat::kRgb : PixelFormat::kBgr,
                       {{pixels.data(), static_cast<size_t>(image.width) * 3}});
}

void expect_exact(const vision::Image& image, int th, int tw, int stride, const std::string& what) {
  const vision::Letterboxed cpu = stride ? vision::letterbox_min_pad(image, th, tw, stride) : vision::letterbox(image, th, tw);
  const std::vector<float> want = vision::to_nchw_rgb(cpu.image);
  for (bool rgb : {false, true}) {
    int h = 0, w = 0;
    const std::vector<float> got = gpu_letterbox(image, th, tw, stride, rgb, h, w);
    ASSERT_EQ(h, cpu.image.height) << what;
    ASSERT_EQ(w, cpu.image.width) << what;
    size_t differing = 0;
    for (size_t i = 0; i < want.size(); ++i) differing += got[i] != want[i];
    EXPECT_EQ(differing, 0u) << what << (rgb ? " (rgb input)" : "") << ": " << differing << " of " << want.size()
                             << " values differ";
  }
}

TEST(LetterboxGpu, AssetImagesEqualCpuExactly) {
  KILN_REQUIRE_ASSETS();
  KILN_REQUIRE_GPU();
  for (const char* name : {"bus.jpg", "dog.jpg", "giraffe.jpg", "horses.jpg", "kite.jpg", "person.jpg", "zidane.jpg"}) {
    auto image = vision::decode_image(asset(std::string("images/") + name));
    ASSERT_TRUE(image.ok()) << image.status().message();
    expect_exact(*image, 640, 640, 0, std::string(name) + " 640 square");
    expect_exact(*image, 640, 640, 32, std::string(name) + " 640 min-pad");
    expect_exact(*image, 1024, 1024, 0, std::string(name) + " 1024 square");
    expect_exact(*image, 224, 320, 0, std::string(name) + " 224x320");
  }
}

TEST(LetterboxGpu, OtherResizePathsEqualCpuExactly) {
  KILN_REQUIRE_GPU();
  auto pattern = [](int w, int h) {
    vision::Image img(w, h);
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>((i * 37 + i / 7) % 251);
    return img;
  };
  expect_exact(pattern(1280, 1280), 640, 640, 0, "exact 2x downscale");
  expect_exact(pattern(640, 480), 640, 640, 0, "no resize");
  expect_exact(pattern(483, 321), 640, 640, 0, "upscale, odd width");
  expect_exact(pattern(1001, 77), 640, 640, 32, "wide, min-pad");
}

// NV12 in device memory (pitched planes) letterboxed by the kernel equals the CPU's
// conversion (vision::nv12_to_bgr) followed by its letterbox, value for value: every
// resize path, luma and chroma covering their whole range.
TEST(LetterboxGpu, Nv12EqualsCpuConversionThenLetterbox) {
  KILN_REQUIRE_GPU();
  for (const auto& [w, h, th, tw, stride] : std::vector<std::array<int, 5>>{
           {1280, 720, 640, 640, 0}, {1280, 1280, 640, 640, 0}, {640, 480, 640, 640, 0}, {482, 320, 640, 640, 0},
           {1920, 1080, 640, 640, 32}}) {
    std::vector<uint8_t> luma(static_cast<size_t>(w) * h), chroma(static_cast<size_t>(w) * h / 2);
    for (size_t i = 0; i < luma.size(); ++i) luma[i] = static_cast<uint8_t>((i * 7 + i / w * 3) % 256);
    for (size_t i = 0; i < chroma.size(); ++i) chroma[i] = static_cast<uint8_t>((i * 11 + i / w * 5) % 256);
    const vision::Image bgr = vision::nv12_to_bgr(luma.data(), w, chroma.data(), w, w, h);
    const vision::Letterboxed cpu = stride ? vision::letterbox_min_pad(bgr, th, tw, stride) : vision::letterbox(bgr, th, tw);
    const std::vector<float> want = vision::to_nchw_rgb(cpu.image);
    const vision_cuda::LetterboxLayout l = vision_cuda::letterbox_layout(w, h, th, tw, stride);
    const std::vector<float> got = gpu_letterbox(l, PixelFormat::kNv12, {{luma.data(), w}, {chroma.data(), w}});
    ASSERT_EQ(got.size(), want.size());
    size_t differing = 0;
    for (size_t i = 0; i < want.size(); ++i) differing += got[i] != want[i];
    EXPECT_EQ(differing, 0u) << w << "x" << h << " -> " << th << "x" << tw << " stride " << stride;
  }
}

// The classifier crop (PIL bilinear short side + center crop) equals vision::classify_crop
// + to_nchw_rgb exactly: downscales of every asset image, an upscale, a same-size side.
std::vector<float> gpu_classify_crop(const vision::Image& image, int size, bool rgb) {
  const vision_cuda::CropLayout l = vision_cuda::classify_crop_layout(image.width, image.height, size);
  std::vector<uint8_t> pixels = image.pixels;
  if (rgb)
    for (size_t i = 0; i < pixels.size(); i += 3) std::swap(pixels[i], pixels[i + 2]);
  uint8_t *src = nullptr, *scratch = nullptr;
  float* dst = nullptr;
  const size_t n = static_cast<size_t>(3) * size * size;
  EXPECT_EQ(cudaMalloc(&src, pixels.size()), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&scratch, vision_cuda::classify_crop_scratch_bytes(l)), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&dst, n * sizeof(float)), cudaSuccess);
  cudaMemcpy(src, pixels.data(), pixels.size(), cudaMemcpyHostToDevice);
  Status st = vision_cuda::classify_crop(src, rgb, l, scratch, dst, nullptr);
  EXPECT_TRUE(st.ok()) << st.message();
  std::vector<float> out(n);
  EXPECT_EQ(cudaMemcpy(out.data(), dst, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  cudaFree(src), cudaFree(scratch), cudaFree(dst);
  return out;
}

TEST(ClassifyCropGpu, EqualsCpuExactly) {
  KILN_REQUIRE_ASSETS();
  KILN_REQUIRE_GPU();
  std::vector<std::pair<std::string, vision::Image>> cases;
  for (const char* name : {"bus.jpg", "zidane.jpg", "horses.jpg"}) {
    auto image = vision::decode_image(asset(std::string("images/") + name));
    ASSERT_TRUE(image.ok());
    cases.emplace_back(name, std::move(image).value());
  }
  vision::Image small(150, 100);
  for (size_t i = 0; i < small.pixels.size(); ++i) small.pixels[i] = static_cast<uint8_t>(i * 13 % 256);
  cases.emplace_back("150x100 upscale", small);
  for (const auto& [name, image] : cases)
    for (int size : {224, 100}) {
      const std::vector<float> want = vision::to_nchw_rgb(vision::classify_crop(image, size));
      for (bool rgb : {false, true}) {
        const std::vector<float> got = gpu_classify_crop(image, size, rgb);
        size_t differing = 0;
        for (size_t i = 0; i < want.size(); ++i) differing += got[i] != want[i];
        EXPECT_EQ(differing, 0u) << name << " at " << size << (rgb ? " (rgb)" : "");
      }
    }
}

}  // namespace
}  // namespace kiln::test
