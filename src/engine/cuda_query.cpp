#include "engine/cuda_query.h"

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

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
  if (cudaDriverGetVersion(&v) == cudaSuccess && v > 0) env.driver = cuda_version_string(v);
  env.cudnn = library_version_string(cudnnGetVersion());
  env.cublaslt = library_version_string(cublasLtGetVersion());

  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    env.no_gpu_reason = std::string("no CUDA GPU: ") + cudaGetErrorString(err);
    return;
  }
  if (count == 0) {
    env.no_gpu_reason = "no CUDA GPU found";
    return;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    env.gpus.push_back(GpuInfo{i, prop.name, std::to_string(prop.major) + "." + std::to_string(prop.minor),
                               static_cast<uint64_t>(prop.totalGlobalMem)});
  }
}

}  // namespace kiln::engine
