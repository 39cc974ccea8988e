#include "vision_cuda/frame_bgr_gpu.h"

#include "vision/nv12.h"
#include "vision_cuda/buffers.h"

namespace kiln::vision_cuda {
namespace {

__global__ void to_bgr_kernel(SourceImage s, int width, int height, uint8_t* __restrict__ dst) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
  if (x >= width || y >= height) return;
  uint8_t bgr[3];
  if (s.format == PixelFormat::kNv12) {
    vision::nv12::pixel_bgr(s.planes[0], s.pitch[0], s.planes[1], s.pitch[1], x, y, bgr);
  } else {
    const uint8_t* p = s.planes[0] + static_cast<size_t>(y) * s.pitch[0] + static_cast<size_t>(x) * 3;
    const bool rgb = s.format == PixelFormat::kRgb;
    bgr[0] = p[rgb ? 2 : 0], bgr[1] = p[1], bgr[2] = p[rgb ? 0 : 2];
  }
  uint8_t* o = dst + (static_cast<size_t>(y) * width + x) * 3;
  o[0] = bgr[0], o[1] = bgr[1], o[2] = bgr[2];
}

}  // namespace

Status to_bgr(const SourceImage& src, int width, int height, uint8_t* dst, cudaStream_t stream) {
  if (width <= 0 || height <= 0) return Status::Ok();
  constexpr int kThreads = 256;
  const dim3 grid((width + kThreads - 1) / kThreads, static_cast<unsigned>(height));
  to_bgr_kernel<<<grid, kThreads, 0, stream>>>(src, width, height, dst);
  return cuda_check(cudaGetLastError(), "frame to BGR");
}

}  // namespace kiln::vision_cuda
