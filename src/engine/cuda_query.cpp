#include "engine/cuda_query.h"

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstdio>

#include "backends/cuda/device_support.h"

namespace kiln::engine {

namespace {

// CUDA encodes versions as major*1000 + minor*10.
std::string cuda_version_string(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

// cuDNN 9 and cuBLASLt encode versions as major*10000 + minor*100 + patch.
std::string library_version_string(size_t v) {
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

}  // namespace

void query_cuda(Environment& env) {
  int v = 0;
  if (cudaRuntimeGetVersion(&v) == cudaSuccess) env.cuda_runtime = cuda_version_string(v);
  // 0 when no driver is installed; an old driver still reports its version.
  if (cudaDriverGetVersion(&v) == cudaSuccess && v > 0) env.driver = cuda_version_string(v);
  env.cudnn = library_version_string(cudnnGetVersion());
  env.cublaslt = library_version_string(cublasLtGetVersion());
  env.cuda_architectures = cuda::cuda_arch_names(cuda::carried_cuda_archs());

  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess && err != cudaErrorNoDevice) {
    env.device_query_error = cudaGetErrorString(err);
    return;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    env.gpus.push_back(GpuInfo{i, prop.name, std::to_string(prop.major) + "." + std::to_string(prop.minor),
                               static_cast<uint64_t>(prop.totalGlobalMem)});
  }
}

std::string cuda_unsupported_reason(const std::string& compute_capability) {
  int major = 0, minor = 0, length = 0;
  if (std::sscanf(compute_capability.c_str(), "%d.%d%n", &major, &minor, &length) != 2 ||
      length != static_cast<int>(compute_capability.size()))
    return "compute capability '" + compute_capability + "' is not major.minor";
  Status st = cuda::check_device_support(major, minor, cuda::carried_cuda_archs());
  return st.ok() ? "" : st.message();
}

}  // namespace kiln::engine
