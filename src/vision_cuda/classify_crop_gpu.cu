#include "vision_cuda/classify_crop_gpu.h"

#include <algorithm>
#include <cmath>

#include "vision_cuda/buffers.h"

namespace kiln::vision_cuda {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's fixed point for 8-bit images
constexpr int kMaxTaps = 64;                // downscales up to ~30x

// Pillow's precompute_coeffs + normalize_coeffs_8bpc for output index `xx` (the CPU's
// pil_taps, vision/classify.cpp): the first source index, the tap count and the weights.
__device__ int pil_taps(int in_size, int out_size, int xx, int* weights, int& first) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = scale > 1.0 ? scale : 1.0;
  const double support = 1.0 * filterscale;
  const double center = (xx + 0.5) * scale;
  const double ss = 1.0 / filterscale;
  int xmin = static_cast<int>(center - support + 0.5);
  if (xmin < 0) xmin = 0;
  int xmax = static_cast<int>(center + support + 0.5);
  if (xmax > in_size) xmax = in_size;
  xmax -= xmin;
  if (xmax > kMaxTaps) xmax = kMaxTaps;
  double k[kMaxTaps];
  double ww = 0.0;
  for (int x = 0; x < xmax; ++x) {
    const double d = fabs((x + xmin - center + 0.5) * ss);
    k[x] = d < 1.0 ? 1.0 - d : 0.0;
    ww += k[x];
  }
  for (int x = 0; x < xmax; ++x) {
    if (ww != 0.0) k[x] /= ww;
    const double scaled = k[x] * (1 << kPrecisionBits);
    weights[x] = static_cast<int>(k[x] < 0 ? -0.5 + scaled : 0.5 + scaled);
  }
  first = xmin;
  return xmax;
}

__device__ uint8_t clip8(int v) {
  if (v >= (255 << kPrecisionBits)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPrecisionBits);
}

// Horizontal pass for the crop's columns of every source row: scratch [src_h, size, 3].
__global__ void horizontal_kernel(const uint8_t* __restrict__ src, CropLayout l, uint8_t* mid) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
  if (x >= l.size) return;
  const uint8_t* in = src + static_cast<size_t>(y) * l.src_width * 3;
  uint8_t* out = mid + (static_cast<size_t>(y) * l.size + x) * 3;
  if (l.resized_width == l.src_width) {
    for (int c = 0; c < 3; ++c) out[c] = in[(x + l.left) * 3 + c];
    return;
  }
  int w[kMaxTaps], first = 0;
  const int n = pil_taps(l.src_width, l.resized_width, x + l.left, w, first);
  for (int c = 0; c < 3; ++c) {
    int ss = 1 << (kPrecisionBits - 1);
    for (int i = 0; i < n; ++i) ss += in[3 * (first + i) + c] * w[i];
    out[c] = clip8(ss);
  }
}

// Vertical pass for the crop's rows, then /255 into RGB planes.
__global__ void vertical_kernel(const uint8_t* __restrict__ mid, CropLayout l, bool rgb, float* dst) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
  if (x >= l.size) return;
  uint8_t bgr[3];
  if (l.resized_height == l.src_height) {
    for (int c = 0; c < 3; ++c) bgr[c] = mid[(static_cast<size_t>(y + l.top) * l.size + x) * 3 + c];
  } else {
    int w[kMaxTaps], first = 0;
    const int n = pil_taps(l.src_height, l.resized_height, y + l.top, w, first);
    for (int c = 0; c < 3; ++c) {
      int ss = 1 << (kPrecisionBits - 1);
      for (int i = 0; i < n; ++i) ss += mid[(static_cast<size_t>(first + i) * l.size + x) * 3 + c] * w[i];
      bgr[c] = clip8(ss);
    }
  }
  const size_t plane = static_cast<size_t>(l.size) * l.size, o = static_cast<size_t>(y) * l.size + x;
  for (int c = 0; c < 3; ++c) dst[c * plane + o] = __fdiv_rn(static_cast<float>(bgr[rgb ? c : 2 - c]), 255.f);
}

}  // namespace

CropLayout classify_crop_layout(int src_width, int src_height, int size) {
  CropLayout l;
  l.src_width = src_width, l.src_height = src_height, l.size = size;
  const bool portrait = src_width <= src_height;
  const int short_side = portrait ? src_width : src_height, long_side = portrait ? src_height : src_width;
  const int new_long = static_cast<int>(static_cast<double>(size) * long_side / short_side);
  l.resized_width = portrait ? size : new_long;
  l.resized_height = portrait ? new_long : size;
  // torchvision center_crop: int(round((side - size) / 2.0)), Python rounding.
  l.top = static_cast<int>(std::nearbyint((l.resized_height - size) / 2.0));
  l.left = static_cast<int>(std::nearbyint((l.resized_width - size) / 2.0));
  return l;
}

size_t classify_crop_scratch_bytes(const CropLayout& l) { return static_cast<size_t>(l.src_height) * l.size * 3; }

Status classify_crop(const uint8_t* src, bool rgb, const CropLayout& l, uint8_t* scratch, float* dst,
                     cudaStream_t stream) {
  const double downscale = std::max(static_cast<double>(l.src_width) / l.resized_width,
                                    static_cast<double>(l.src_height) / l.resized_height);
  if (2 * std::ceil(downscale) + 1 > kMaxTaps)
    return error(StatusCode::kUnsupported, "classify crop: a ", l.src_width, "x", l.src_height, " image shrinks ",
                 downscale, "x to ", l.size, ", beyond the GPU filter's ", kMaxTaps, " taps");
  const int block = 128;
  horizontal_kernel<<<dim3((l.size + block - 1) / block, l.src_height), block, 0, stream>>>(src, l, scratch);
  vertical_kernel<<<dim3((l.size + block - 1) / block, l.size), block, 0, stream>>>(scratch, l, rgb, dst);
  return cuda_check(cudaGetLastError(), "classify crop kernels");
}

}  // namespace kiln::vision_cuda
