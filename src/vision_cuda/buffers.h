// Device and page-locked host memory that grows on demand, and CUDA errors as Status.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

#include "kiln/status.h"

namespace kiln::vision_cuda {

Status cuda_check(cudaError_t e, const std::string& what);

enum class MemoryKind {
  kDevice,        // device memory
  kPinnedMapped,  // page-locked host memory mapped into the device's address space: kernels
                  // write results straight into it; copies from it are DMA without staging
};

// Memory of one kind that grows on demand; reserve() keeps the contents only when no growth
// is needed.
template <MemoryKind kKind>
class GrowingBuffer {
 public:
  GrowingBuffer() = default;
  ~GrowingBuffer();
  GrowingBuffer(const GrowingBuffer&) = delete;
  GrowingBuffer& operator=(const GrowingBuffer&) = delete;
  Status reserve(size_t bytes);
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

using DeviceBuffer = GrowingBuffer<MemoryKind::kDevice>;
using PinnedBuffer = GrowingBuffer<MemoryKind::kPinnedMapped>;

}  // namespace kiln::vision_cuda
