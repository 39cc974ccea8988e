// keep_gpu_busy (tune_util.h): a one-thread kernel that spins on the GPU's clock.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/tune_util.h"

namespace kiln::cuda {
namespace {

__global__ void busy_kernel(long long ns) {
  begin_kernel();
  long long t0 = 0, t = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  do asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  while (t - t0 < ns);
}

}  // namespace

Status keep_gpu_busy(cudaStream_t stream) {
  constexpr long long kBusyNs = 40'000;  // more than a cuDNN plan's execute takes on the host
  launch_kernel(busy_kernel, 1, 1, 0, stream, kBusyNs);
  return launch_status("tune: busy kernel");
}

}  // namespace kiln::cuda
