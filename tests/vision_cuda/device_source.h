// A source image for the vision_cuda kernels: host planes copied to device memory with
// their rows padded beyond the row length (a kernel ignoring the pitch reads the padding),
// freed at scope exit.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "vision_cuda/letterbox_gpu.h"

namespace kiln::test {

class DeviceSource {
 public:
  // `planes`: (pixels, row bytes) of each plane, packed; NV12's second plane has height / 2 rows.
  DeviceSource(PixelFormat format, int height, const std::vector<std::pair<const uint8_t*, size_t>>& planes) {
    source_.format = format;
    for (size_t p = 0; p < planes.size(); ++p) {
      const size_t row = planes[p].second, rows = p == 0 ? height : height / 2;
      const size_t pitch = row + 96;
      uint8_t* d = nullptr;
      EXPECT_EQ(cudaMalloc(&d, pitch * rows), cudaSuccess);
      EXPECT_EQ(cudaMemcpy2D(d, pitch, planes[p].first, row, row, rows, cudaMemcpyHostToDevice), cudaSuccess);
      device_.push_back(d);
      source_.planes[p] = d, source_.pitch[p] = pitch;
    }
  }
  ~DeviceSource() {
    for (uint8_t* d : device_) cudaFree(d);
  }
  DeviceSource(const DeviceSource&) = delete;
  DeviceSource& operator=(const DeviceSource&) = delete;

  const vision_cuda::SourceImage& source() const { return source_; }

 private:
  vision_cuda::SourceImage source_;
  std::vector<uint8_t*> device_;
};

}  // namespace kiln::test
