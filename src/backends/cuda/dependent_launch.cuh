// Programmatic dependent launch (compute capability 9.0 and later). A kernel launched with
// launch_kernel may have its blocks scheduled while the kernel before it in the stream (or
// in the CUDA graph captured from it) finishes, so that a chain of small dependent kernels,
// OSNet's or a batch-1 detector's, does not pay a whole launch gap between each pair.
// Correctness rests on one rule: every kernel launched with launch_kernel calls
// begin_kernel() in every block before it reads or writes global memory that a kernel may
// write (weights uploaded by the plan may be read before it).
#pragma once

#include <cuda_runtime.h>

#include <utility>

namespace kiln::cuda {

// Waits until the previous kernel in the stream has completed and its writes are visible
// (griddepcontrol.wait). A no-op in a kernel launched without the attribute and on older
// architectures. The next kernel's blocks may be scheduled as this kernel's blocks exit
// (the implicit trigger), not earlier: an explicit launch_dependents at the start let the
// next kernel, cuDNN's too, occupy the SMs while this one still ran, and yolo11n FP16 at
// batch 32 on an H100 took 3.015 ms against 2.946 ms without it (2.953 ms with no
// dependent launches at all), for 0.003-0.006 ms at batch 1.
__device__ __forceinline__ void begin_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  cudaGridDependencySynchronize();
#endif
}

// Whether a launch of grid x block threads is made a dependent launch: when the current
// device runs kiln's kernels from sm_90 code (code with begin_kernel's instructions) and
// the blocks fit in one wave of it at full occupancy: a grid of several waves has little
// launch gap to hide. Cached per device (dependent_launch.cu).
bool dependent_launch_fits(dim3 grid, dim3 block);

namespace detail {
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, unsigned cluster_x, size_t shared_bytes,
            cudaStream_t stream, Args&&... args) {
  cudaLaunchAttribute attributes[2]{};
  unsigned count = 0;
  if (dependent_launch_fits(grid, block)) {
    attributes[count].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attributes[count++].val.programmaticStreamSerializationAllowed = 1;
  }
  if (cluster_x > 1) {
    attributes[count].id = cudaLaunchAttributeClusterDimension;
    attributes[count++].val.clusterDim = {cluster_x, 1, 1};
  }
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  config.attrs = attributes;
  config.numAttrs = count;
  (void)cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}
}  // namespace detail

// kernel<<<grid, block, shared_bytes, stream>>>(args...), allowed to overlap the previous
// kernel's tail where dependent_launch_fits(). Errors surface through launch_status()
// (cudaGetLastError), as for a <<<>>> launch.
template <typename... Params, typename... Args>
void launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
                   Args&&... args) {
  detail::launch(kernel, grid, block, 1, shared_bytes, stream, std::forward<Args>(args)...);
}

// The same in clusters of `cluster_x` blocks along x (the kernel's blocks share their shared
// memory); only where sm90_kernels_running() (device_support.h).
template <typename... Params, typename... Args>
void launch_kernel_in_clusters(void (*kernel)(Params...), dim3 grid, dim3 block, unsigned cluster_x,
                               size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  detail::launch(kernel, grid, block, cluster_x, shared_bytes, stream, std::forward<Args>(args)...);
}

}  // namespace kiln::cuda
