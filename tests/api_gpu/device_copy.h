// A host frame's planes copied into pitched device memory (rows padded beyond their
// length) on a stream, as a decoder would leave them there; freed at scope exit.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <vector>

#include "kiln/frame.h"

namespace kiln::test {

struct DeviceCopy {
  Frame frame;
  std::vector<void*> owned;
  DeviceCopy(const Frame& host, cudaStream_t stream) : frame(host) {
    frame.memory = FrameMemory::kDevice;
    frame.stream = stream;
    const bool nv12 = host.format == PixelFormat::kNv12;
    for (int p = 0; p < (nv12 ? 2 : 1); ++p) {
      const size_t row = static_cast<size_t>(host.width) * (nv12 ? 1 : 3), rows = p == 0 ? host.height : host.height / 2;
      void* d = nullptr;
      size_t pitch = 0;
      EXPECT_EQ(cudaMallocPitch(&d, &pitch, row + 200, rows), cudaSuccess);  // padded beyond the row
      EXPECT_EQ(cudaMemcpy2DAsync(d, pitch, host.planes[p], host.pitch[p], row, rows, cudaMemcpyHostToDevice, stream),
                cudaSuccess);
      owned.push_back(d);
      frame.planes[p] = static_cast<const uint8_t*>(d);
      frame.pitch[p] = pitch;
    }
  }
  ~DeviceCopy() {
    for (void* d : owned) cudaFree(d);
  }
  DeviceCopy(const DeviceCopy&) = delete;
  DeviceCopy& operator=(const DeviceCopy&) = delete;
};

}  // namespace kiln::test
