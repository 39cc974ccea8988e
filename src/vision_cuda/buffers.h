// Device and page-locked host memory that grows on demand, and CUDA errors as Status.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

#include "kiln/status.h"

namespace kiln::vision_cuda {

Status cuda_check(cudaError_t e, const std::string& what);

// Device memory; reserve() keeps the contents only when no growth is needed.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  Status reserve(size_t bytes);
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Page-locked host memory, mapped into the device's address space (kernels write results
// straight into it; copies from it are DMA without staging).
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  Status reserve(size_t bytes);
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace kiln::vision_cuda
