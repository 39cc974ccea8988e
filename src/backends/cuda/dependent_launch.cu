#include "backends/cuda/dependent_launch.cuh"

#include <array>
#include <atomic>
#include <cstdint>

#include "backends/cuda/device_support.h"

namespace kiln::cuda {
namespace {

// Compiled with the same architectures as every kernel of the backend, so its PTX version
// is the one the current device runs them from.
__global__ void probe_kernel() {}

constexpr int kMaxDevices = 64;

// Threads one wave of the current device holds when it runs sm_90 code, else 0; cached per
// device, stored plus one (0: not asked yet; a race between threads only repeats the query).
int64_t wave_threads() {
  static std::array<std::atomic<int64_t>, kMaxDevices> known{};
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) return 0;
  int64_t stored = known[device].load(std::memory_order_relaxed);
  if (stored == 0) {
    cudaFuncAttributes attributes{};
    int sms = 0, per_sm = 0;
    const bool sm90 = cudaFuncGetAttributes(&attributes, probe_kernel) == cudaSuccess && attributes.ptxVersion >= 90 &&
                      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) == cudaSuccess &&
                      cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxThreadsPerMultiProcessor, device) == cudaSuccess;
    stored = (sm90 ? int64_t{sms} * per_sm : 0) + 1;
    known[device].store(stored, std::memory_order_relaxed);
  }
  return stored - 1;
}

}  // namespace

bool sm90_kernels_running() { return wave_threads() > 0; }

bool dependent_launch_fits(dim3 grid, dim3 block) {
  const int64_t threads = int64_t{grid.x} * grid.y * grid.z * block.x * block.y * block.z;
  return threads <= wave_threads();
}

}  // namespace kiln::cuda
