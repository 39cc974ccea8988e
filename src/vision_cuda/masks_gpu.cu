// Decoder::enqueue_masks: vision::process_mask + mask_to_image on the GPU, one thread per
// pixel, the same float arithmetic (PyTorch's bilinear taps, accumulation order).
#include "vision_cuda/decode_gpu.h"

#include <cmath>

#include "vision_cuda/decode_math.cuh"

namespace kiln::vision_cuda {

namespace {

constexpr int kBlock = 256;

// One output index of vision/segment.cpp's axis_taps (align_corners=False).
struct Taps {
  int i0, i1;
  float w0, w1;
};

__device__ Taps axis_taps(int in, int out, int d) {
  if (in == out) return {d, d, 1.f, 0.f};
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  float src = scale * (static_cast<float>(d) + 0.5f) - 0.5f;
  if (src < 0.f) src = 0.f;
  const int i0 = min(static_cast<int>(floorf(src)), in - 1);
  const float l1 = std_clamp(src - static_cast<float>(i0), 0.f, 1.f);
  return {i0, i0 + (i0 < in - 1 ? 1 : 0), 1.f - l1, l1};
}

struct MaskParams {
  const float* raw;       // this image's raw output
  const float* protos;    // [channels, ph, pw]
  const GpuDetection* dets;
  int coef_stride;
  int channels, ph, pw;
  int ih, iw, oh, ow;
  int top, left, crop_h, crop_w;  // mask_to_image's unpadded region of the input
  float* logits;                  // [det][ph * pw]
  int* areas;
  uint8_t* masks;                 // [det][oh * ow]
};

__device__ int corner(float v, int hi) { return min(max(static_cast<int>(rintf(std_max(v, 0.f))), 0), hi); }

// Coefficients x prototypes inside the box (prototype pixels), 0 outside (crop_mask).
__global__ void logits_kernel(MaskParams p) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x, d = blockIdx.y;
  if (i >= p.ph * p.pw) return;
  const GpuDetection& det = p.dets[d];
  const float rw = static_cast<float>(static_cast<double>(p.pw) / p.iw), rh = static_cast<float>(static_cast<double>(p.ph) / p.ih);
  const int x1 = corner(det.input_box[0] * rw, p.pw), y1 = corner(det.input_box[1] * rh, p.ph);
  const int x2 = corner(det.input_box[2] * rw, p.pw), y2 = corner(det.input_box[3] * rh, p.ph);
  const int y = i / p.pw, x = i % p.pw;
  float acc = 0.f;
  if (y >= y1 && y < y2 && x >= x1 && x < x2) {
    const size_t plane = static_cast<size_t>(p.ph) * p.pw;
    for (int c = 0; c < p.channels; ++c) acc += p.raw[det.coef_offset + c * p.coef_stride] * p.protos[c * plane + i];
  }
  p.logits[static_cast<size_t>(d) * p.ph * p.pw + i] = acc;
}

// The mask at input resolution: bilinear upsample of the logits, > 0 (sigmoid > 0.5).
__device__ bool input_bit(const MaskParams& p, const float* logits, int y, int x) {
  const Taps ty = axis_taps(p.ph, p.ih, y), tx = axis_taps(p.pw, p.iw, x);
  const float* r0 = logits + static_cast<size_t>(ty.i0) * p.pw;
  const float* r1 = logits + static_cast<size_t>(ty.i1) * p.pw;
  const float top = r0[tx.i0] * tx.w0 + r0[tx.i1] * tx.w1;
  const float bottom = r1[tx.i0] * tx.w0 + r1[tx.i1] * tx.w1;
  return top * ty.w0 + bottom * ty.w1 > 0.f;
}

__global__ void area_kernel(MaskParams p) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x, d = blockIdx.y;
  const float* logits = p.logits + static_cast<size_t>(d) * p.ph * p.pw;
  const bool on = i < p.ih * p.iw && input_bit(p, logits, i / p.iw, i % p.iw);
  const int n = __syncthreads_count(on);
  if (threadIdx.x == 0 && n) atomicAdd(&p.areas[d], n);
}

// mask_to_image: the unpadded region resized to the original image, > 0.5.
__global__ void image_mask_kernel(MaskParams p) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x, d = blockIdx.y;
  if (i >= p.oh * p.ow) return;
  const float* logits = p.logits + static_cast<size_t>(d) * p.ph * p.pw;
  const int y = i / p.ow, x = i % p.ow;
  bool on;
  if (p.ih == p.oh && p.iw == p.ow) {
    on = input_bit(p, logits, y, x);
  } else {
    const Taps ty = axis_taps(p.crop_h, p.oh, y), tx = axis_taps(p.crop_w, p.ow, x);
    auto v = [&](int yy, int xx) { return input_bit(p, logits, yy + p.top, xx + p.left) ? 1.f : 0.f; };
    const float top = v(ty.i0, tx.i0) * tx.w0 + v(ty.i0, tx.i1) * tx.w1;
    const float bottom = v(ty.i1, tx.i0) * tx.w0 + v(ty.i1, tx.i1) * tx.w1;
    on = top * ty.w0 + bottom * ty.w1 > 0.5f;
  }
  p.masks[static_cast<size_t>(d) * p.oh * p.ow + i] = on ? 1 : 0;
}

}  // namespace

Status Decoder::enqueue_masks(const float* raw, const RawLayout& l, int image, const float* protos, int proto_channels,
                              int proto_height, int proto_width, const ImageGeometry& g, cudaStream_t stream) {
  const int n = count(image);
  if (n == 0) return Status::Ok();
  MaskParams p{};
  p.raw = raw + static_cast<size_t>(image) * l.channels * l.anchors;
  p.protos = protos;
  p.dets = detections(image);
  p.coef_stride = l.end2end ? 1 : l.anchors;
  p.channels = proto_channels, p.ph = proto_height, p.pw = proto_width;
  p.ih = g.input_height, p.iw = g.input_width, p.oh = g.orig_height, p.ow = g.orig_width;
  // mask_to_image's crop of the letterbox padding (double arithmetic, as the CPU).
  const double gain = std::min(static_cast<double>(p.ih) / p.oh, static_cast<double>(p.iw) / p.ow);
  const double pad_w = (p.iw - std::nearbyint(p.ow * gain)) / 2, pad_h = (p.ih - std::nearbyint(p.oh * gain)) / 2;
  p.top = static_cast<int>(std::nearbyint(pad_h - 0.1)), p.left = static_cast<int>(std::nearbyint(pad_w - 0.1));
  p.crop_h = p.ih - static_cast<int>(std::nearbyint(pad_h + 0.1)) - p.top;
  p.crop_w = p.iw - static_cast<int>(std::nearbyint(pad_w + 0.1)) - p.left;
  const size_t plane = static_cast<size_t>(p.ph) * p.pw, image_bytes = static_cast<size_t>(p.oh) * p.ow;
  KILN_RETURN_IF_ERROR(logits_.reserve(n * plane * sizeof(float)));
  KILN_RETURN_IF_ERROR(masks_dev_.reserve(n * image_bytes));
  KILN_RETURN_IF_ERROR(masks_host_.reserve(n * image_bytes));
  KILN_RETURN_IF_ERROR(areas_.reserve(n * sizeof(int)));
  std::fill(areas_.as<int>(), areas_.as<int>() + n, 0);
  p.logits = logits_.as<float>();
  p.areas = areas_.as<int>();
  p.masks = masks_dev_.as<uint8_t>();
  logits_kernel<<<dim3((plane + kBlock - 1) / kBlock, n), kBlock, 0, stream>>>(p);
  area_kernel<<<dim3((static_cast<size_t>(p.ih) * p.iw + kBlock - 1) / kBlock, n), kBlock, 0, stream>>>(p);
  image_mask_kernel<<<dim3((image_bytes + kBlock - 1) / kBlock, n), kBlock, 0, stream>>>(p);
  KILN_RETURN_IF_ERROR(cuda_check(cudaGetLastError(), "mask kernels"));
  return cuda_check(cudaMemcpyAsync(masks_host_.as<uint8_t>(), p.masks, n * image_bytes, cudaMemcpyDeviceToHost, stream),
                    "mask copy");
}

}  // namespace kiln::vision_cuda
