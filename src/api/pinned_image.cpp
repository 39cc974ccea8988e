#include <cstdlib>
#include <utility>

#include "kiln/image.h"

#if KILN_API_CUDA
#include <cuda_runtime.h>
#endif

namespace kiln {

Result<PinnedImage> PinnedImage::allocate(int width, int height) {
  if (width <= 0 || height <= 0)
    return error(StatusCode::kInvalidArgument, "pinned image size must be positive, got ", width, "x", height);
  const size_t bytes = static_cast<size_t>(width) * height * 3;
  PinnedImage image;
  image.width_ = width;
  image.height_ = height;
#if KILN_API_CUDA
  // Without a usable GPU cudaHostAlloc fails; plain memory serves the CPU path as well.
  void* p = nullptr;
  if (cudaHostAlloc(&p, bytes, cudaHostAllocDefault) == cudaSuccess) {
    image.data_ = static_cast<uint8_t*>(p);
    image.pinned_ = true;
    return image;
  }
  cudaGetLastError();  // clear the error the failed allocation left
#endif
  image.data_ = static_cast<uint8_t*>(std::malloc(bytes));
  if (!image.data_) return error(StatusCode::kInternal, "cannot allocate ", bytes, " bytes for a ", width, "x", height, " image");
  return image;
}

PinnedImage::PinnedImage(PinnedImage&& o) noexcept
    : width_(std::exchange(o.width_, 0)), height_(std::exchange(o.height_, 0)),
      data_(std::exchange(o.data_, nullptr)), pinned_(std::exchange(o.pinned_, false)) {}

PinnedImage& PinnedImage::operator=(PinnedImage&& o) noexcept {
  if (this != &o) {
    release();
    width_ = std::exchange(o.width_, 0), height_ = std::exchange(o.height_, 0);
    data_ = std::exchange(o.data_, nullptr), pinned_ = std::exchange(o.pinned_, false);
  }
  return *this;
}

PinnedImage::~PinnedImage() { release(); }

void PinnedImage::release() {
  if (!data_) return;
#if KILN_API_CUDA
  if (pinned_) {
    cudaFreeHost(data_);
    data_ = nullptr;
    return;
  }
#endif
  std::free(data_);
  data_ = nullptr;
}

}  // namespace kiln
