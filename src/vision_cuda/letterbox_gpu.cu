#include "vision_cuda/letterbox_gpu.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "vision/letterbox.h"
#include "vision/nv12.h"
#include "vision_cuda/buffers.h"

namespace kiln::vision_cuda {

namespace {

constexpr int kCoefScale = 1 << 11;  // OpenCV's INTER_RESIZE_COEF_BITS

int py_round(double v) { return static_cast<int>(std::nearbyint(v)); }

// One destination index of OpenCV's axis table (vision/resize.cpp's make_axis): the
// first source index and the two 11-bit weights, from the same float arithmetic.
struct Tap {
  int first;
  int w0, w1;
};

__device__ Tap axis_tap(int d, double scale) {
  float f = static_cast<float>(__dsub_rn(__dmul_rn(d + 0.5, scale), 0.5));
  const int s = static_cast<int>(floorf(f));
  f = __fsub_rn(f, static_cast<float>(s));
  return {s, static_cast<int>(rintf(__fmul_rn(__fsub_rn(1.f, f), kCoefScale))),
          static_cast<int>(rintf(__fmul_rn(f, kCoefScale)))};
}

// Pixel (x, y) of the source as b, g, r: packed rows or NV12 (vision/nv12.h, the CPU's
// conversion of host frames).
__device__ void fetch(const SourceImage& s, int x, int y, int bgr[3]) {
  if (s.format == PixelFormat::kNv12) {
    uint8_t p[3];
    vision::nv12::pixel_bgr(s.planes[0], s.pitch[0], s.planes[1], s.pitch[1], x, y, p);
    bgr[0] = p[0], bgr[1] = p[1], bgr[2] = p[2];
    return;
  }
  const uint8_t* q = s.planes[0] + static_cast<size_t>(y) * s.pitch[0] + static_cast<size_t>(x) * 3;
  const bool rgb = s.format == PixelFormat::kRgb;
  bgr[0] = q[rgb ? 2 : 0], bgr[1] = q[1], bgr[2] = q[rgb ? 0 : 2];
}

// HResizeLinear for one source row, all three channels: the sums scaled by 2^11; outside
// the interior OpenCV takes the edge sample times 2^11. `x0`: the region's first column.
__device__ void horizontal(const SourceImage& s, int x0, int src_width, int y, const Tap& x, int out[3]) {
  int a[3];
  if (x.first < 0 || x.first + 1 >= src_width) {
    fetch(s, x0 + min(max(x.first, 0), src_width - 1), y, a);
    for (int c = 0; c < 3; ++c) out[c] = a[c] * kCoefScale;
    return;
  }
  int b[3];
  fetch(s, x0 + x.first, y, a);
  fetch(s, x0 + x.first + 1, y, b);
  for (int c = 0; c < 3; ++c) out[c] = a[c] * x.w0 + b[c] * x.w1;
}

struct Params {
  LetterboxLayout l;
  double scale_x, scale_y;  // OpenCV's 1 / (dst / src)
  int mode;                 // 0 copy, 1 2x2 box average, 2 bilinear
};

// vision::resize_linear's cases for a layout: same size, OpenCV's exact-2x area fast path,
// bilinear.
Params params_of(const LetterboxLayout& layout) {
  Params p{layout, 0, 0, 2};
  p.scale_x = 1.0 / (static_cast<double>(layout.resized_width) / layout.src_width);
  p.scale_y = 1.0 / (static_cast<double>(layout.resized_height) / layout.src_height);
  auto is_half = [](double scale) { return std::abs(scale - 2.0) < std::numeric_limits<double>::epsilon(); };
  if (layout.resized_width == layout.src_width && layout.resized_height == layout.src_height)
    p.mode = 0;
  else if (is_half(p.scale_x) && is_half(p.scale_y))
    p.mode = 1;
  return p;
}

// Input pixel (x, y) of a layout as b, g, r: padding, or the region's pixels resized.
__device__ void input_pixel(const SourceImage& src, const Params& p, int x, int y, int bgr[3]) {
  const int rx = x - p.l.pad_left, ry = y - p.l.pad_top;
  const int x0 = p.l.src_x, y0 = p.l.src_y;
  if (rx < 0 || ry < 0 || rx >= p.l.resized_width || ry >= p.l.resized_height) {
    bgr[0] = bgr[1] = bgr[2] = vision::kLetterboxPadValue;
  } else if (p.mode == 0) {
    fetch(src, x0 + rx, y0 + ry, bgr);
  } else if (p.mode == 1) {
    int a[3], b[3], c[3], d[3];
    fetch(src, x0 + 2 * rx, y0 + 2 * ry, a), fetch(src, x0 + 2 * rx + 1, y0 + 2 * ry, b);
    fetch(src, x0 + 2 * rx, y0 + 2 * ry + 1, c), fetch(src, x0 + 2 * rx + 1, y0 + 2 * ry + 1, d);
    for (int k = 0; k < 3; ++k) bgr[k] = (a[k] + b[k] + c[k] + d[k] + 2) >> 2;
  } else {
    const Tap tx = axis_tap(rx, p.scale_x), ty = axis_tap(ry, p.scale_y);
    // The vertical pass keeps its weights at the borders and clamps the rows instead.
    const int s0 = min(max(ty.first, 0), p.l.src_height - 1), s1 = min(max(ty.first + 1, 0), p.l.src_height - 1);
    int h0[3], h1[3];
    horizontal(src, x0, p.l.src_width, y0 + s0, tx, h0);
    horizontal(src, x0, p.l.src_width, y0 + s1, tx, h1);
    for (int c = 0; c < 3; ++c) {
      // VResizeLinearVec_32s8u's arithmetic (see vision/resize.cpp's vertical_pass).
      const int a = ((h0[c] >> 4) * ty.w0) >> 16;
      const int b = ((h1[c] >> 4) * ty.w1) >> 16;
      bgr[c] = min(max((a + b + 2) >> 2, 0), 255);
    }
  }
}

// Input pixel (x, y) of a layout into its RGB planes at `dst`.
__device__ void write_input(const SourceImage& src, const Params& p, const InputScaling& scaling, int x, int y,
                            float* __restrict__ dst) {
  int bgr[3];
  input_pixel(src, p, x, y, bgr);
  const size_t plane = static_cast<size_t>(p.l.width) * p.l.height;
  const size_t o = static_cast<size_t>(y) * p.l.width + x;
  for (int c = 0; c < 3; ++c) {  // plane 0 is red
    float v = __fdiv_rn(static_cast<float>(bgr[2 - c]), 255.f);
    if (scaling.standardize) v = __fdiv_rn(__fsub_rn(v, scaling.mean[c]), scaling.std[c]);
    dst[static_cast<size_t>(c) * plane + o] = v;
  }
}

__global__ void letterbox_kernel(SourceImage src, Params p, float* __restrict__ dst) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x < p.l.width) write_input(src, p, InputScaling{}, x, blockIdx.y, dst);
}

// Crop layouts passed in the launch's own parameters, so a launch needs no device memory
// and no copy: 32 of them (2 KiB) stay well inside the 4 KiB a kernel's parameters may take.
constexpr int kCropsPerLaunch = 32;
struct CropParams {
  Params crop[kCropsPerLaunch];
};

// blockIdx.z: the crop; its input follows the previous crop's in `dst`.
__global__ void crops_kernel(SourceImage src, CropParams crops, InputScaling scaling, float* __restrict__ dst) {
  const Params& p = crops.crop[blockIdx.z];
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= p.l.width) return;
  write_input(src, p, scaling, x, blockIdx.y, dst + static_cast<size_t>(blockIdx.z) * 3 * p.l.width * p.l.height);
}

constexpr int kBlock = 128;

}  // namespace

LetterboxLayout letterbox_layout(int src_width, int src_height, int target_height, int target_width, int stride) {
  const double r = std::min(static_cast<double>(target_height) / src_height, static_cast<double>(target_width) / src_width);
  LetterboxLayout l;
  l.src_width = src_width, l.src_height = src_height;
  l.resized_width = py_round(src_width * r);
  l.resized_height = py_round(src_height * r);
  l.width = stride > 0 ? l.resized_width + (target_width - l.resized_width) % stride : target_width;
  l.height = stride > 0 ? l.resized_height + (target_height - l.resized_height) % stride : target_height;
  l.pad_left = py_round((l.width - l.resized_width) / 2.0 - 0.1);
  l.pad_top = py_round((l.height - l.resized_height) / 2.0 - 0.1);
  return l;
}

LetterboxLayout crop_layout(const vision::CropPlacement& placement) {
  const vision::CropRegion& r = placement.region;
  LetterboxLayout l;
  if (placement.fit == CropFit::kLetterbox) {
    l = letterbox_layout(r.width(), r.height(), placement.input_height, placement.input_width, 0);
  } else {
    l.src_width = r.width(), l.src_height = r.height();
    l.width = l.resized_width = placement.input_width;
    l.height = l.resized_height = placement.input_height;
  }
  l.src_x = r.x1, l.src_y = r.y1;
  return l;
}

Status letterbox(const SourceImage& src, const LetterboxLayout& layout, float* dst, cudaStream_t stream) {
  const dim3 grid((layout.width + kBlock - 1) / kBlock, layout.height);
  letterbox_kernel<<<grid, kBlock, 0, stream>>>(src, params_of(layout), dst);
  return cuda_check(cudaGetLastError(), "letterbox kernel");
}

Status fit_crops(const SourceImage& src, std::span<const LetterboxLayout> layouts, const InputScaling& scaling,
                 float* dst, cudaStream_t stream) {
  if (layouts.empty()) return Status::Ok();
  const int width = layouts[0].width, height = layouts[0].height;
  for (const LetterboxLayout& l : layouts)
    if (l.width != width || l.height != height)
      return error(StatusCode::kInvalidArgument, "crop kernel: a ", l.width, "x", l.height, " input among ", width, "x",
                   height, " ones");
  const size_t input_floats = static_cast<size_t>(3) * width * height;
  for (size_t first = 0; first < layouts.size(); first += kCropsPerLaunch) {
    const size_t n = std::min<size_t>(kCropsPerLaunch, layouts.size() - first);
    CropParams crops;
    for (size_t i = 0; i < n; ++i) crops.crop[i] = params_of(layouts[first + i]);
    const dim3 grid((width + kBlock - 1) / kBlock, height, static_cast<unsigned>(n));
    crops_kernel<<<grid, kBlock, 0, stream>>>(src, crops, scaling, dst + first * input_floats);
  }
  return cuda_check(cudaGetLastError(), "crop kernel");
}

}  // namespace kiln::vision_cuda
