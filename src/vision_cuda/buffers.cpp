#include "vision_cuda/buffers.h"

namespace kiln::vision_cuda {

Status cuda_check(cudaError_t e, const std::string& what) {
  if (e == cudaSuccess) return Status::Ok();
  return error(StatusCode::kInternal, what, ": CUDA error ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ")");
}

namespace {

void release(MemoryKind kind, void* p) {
  if (kind == MemoryKind::kDevice)
    cudaFree(p);
  else
    cudaFreeHost(p);
}

}  // namespace

template <MemoryKind kKind>
GrowingBuffer<kKind>::~GrowingBuffer() {
  release(kKind, ptr_);
}

template <MemoryKind kKind>
Status GrowingBuffer<kKind>::reserve(size_t bytes) {
  if (bytes <= bytes_) return Status::Ok();
  release(kKind, ptr_);
  ptr_ = nullptr;
  bytes_ = 0;
  if (kKind == MemoryKind::kDevice)
    KILN_RETURN_IF_ERROR(cuda_check(cudaMalloc(&ptr_, bytes), "device buffer of " + std::to_string(bytes) + " bytes"));
  else
    KILN_RETURN_IF_ERROR(cuda_check(cudaHostAlloc(&ptr_, bytes, cudaHostAllocMapped),
                                    "pinned host buffer of " + std::to_string(bytes) + " bytes"));
  bytes_ = bytes;
  return Status::Ok();
}

template class GrowingBuffer<MemoryKind::kDevice>;
template class GrowingBuffer<MemoryKind::kPinnedMapped>;

}  // namespace kiln::vision_cuda
