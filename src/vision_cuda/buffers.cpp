#include "vision_cuda/buffers.h"

namespace kiln::vision_cuda {

Status cuda_check(cudaError_t e, const std::string& what) {
  if (e == cudaSuccess) return Status::Ok();
  return error(StatusCode::kInternal, what, ": CUDA error ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ")");
}

DeviceBuffer::~DeviceBuffer() { cudaFree(ptr_); }

Status DeviceBuffer::reserve(size_t bytes) {
  if (bytes <= bytes_) return Status::Ok();
  cudaFree(ptr_);
  ptr_ = nullptr;
  bytes_ = 0;
  KILN_RETURN_IF_ERROR(cuda_check(cudaMalloc(&ptr_, bytes), "device buffer of " + std::to_string(bytes) + " bytes"));
  bytes_ = bytes;
  return Status::Ok();
}

PinnedBuffer::~PinnedBuffer() { cudaFreeHost(ptr_); }

Status PinnedBuffer::reserve(size_t bytes) {
  if (bytes <= bytes_) return Status::Ok();
  cudaFreeHost(ptr_);
  ptr_ = nullptr;
  bytes_ = 0;
  KILN_RETURN_IF_ERROR(cuda_check(cudaHostAlloc(&ptr_, bytes, cudaHostAllocMapped),
                                  "pinned host buffer of " + std::to_string(bytes) + " bytes"));
  bytes_ = bytes;
  return Status::Ok();
}

}  // namespace kiln::vision_cuda
