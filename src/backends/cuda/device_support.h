// Which GPUs this build's own CUDA kernels can run on. They are compiled for the
// architectures KILN_CUDA_ARCHS chose (cmake/KilnCudaArchs.cmake), each as SASS (machine code
// for one compute capability and the later minor versions of its major) and/or PTX (which the
// driver compiles for that compute capability or any newer one). A GPU that neither serves
// is refused when an engine is built for it, with one line naming its compute capability,
// rather than failing with "no kernel image" at the first launch.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kiln/status.h"

namespace kiln::cuda {

struct CudaArch {
  int cc = 0;         // compute capability x 10: 75, 90, 121
  char variant = 0;   // 0, 'a' (arch-specific: that exact GPU) or 'f' (family-specific)
  bool sass = false;  // carries sm_NN machine code
  bool ptx = false;   // carries compute_NN PTX
};

// CMake CUDA_ARCHITECTURES entries separated by ',' or ';' ("75-real,90,121-virtual"):
// NN is SASS + PTX, NN-real SASS only, NN-virtual PTX only. InvalidArgument names a bad entry.
Result<std::vector<CudaArch>> parse_cuda_archs(std::string_view list);

// The architectures this binary's kernels carry (compiled in as KILN_CUDA_ARCHITECTURES).
const std::vector<CudaArch>& carried_cuda_archs();

// nvcc's names, SASS then PTX per entry: {"sm_75", "sm_90", "compute_90", "sm_90a"}.
std::vector<std::string> cuda_arch_names(const std::vector<CudaArch>& archs);

// Ok when kernels carried as `carried` run on a GPU of compute capability major.minor;
// otherwise Unsupported: "compute capability 7.5 is not served by ...".
Status check_device_support(int major, int minor, const std::vector<CudaArch>& carried);

// Whether the current device runs kiln's kernels from code compiled for compute capability
// 9.0 or later: code that waits for the previous kernel itself (dependent_launch.cuh) and
// may be launched in thread block clusters. Cached per device (dependent_launch.cu).
bool sm90_kernels_running();

// check_device_support for the current CUDA device against carried_cuda_archs(), the
// message prefixed "cuda:N (<name>)".
Status check_current_device();

}  // namespace kiln::cuda
