#include "backends/cuda/weight_store.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "backends/cuda/cuda_check.h"

namespace kiln::cuda {

WeightStore::~WeightStore() {
  for (auto& [hash, e] : entries_) cudaFree(e.device);
}

Result<const void*> WeightStore::upload(const void* data, size_t bytes, const std::string& what) {
  const auto* p = static_cast<const uint8_t*>(data);
  const size_t hash = std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(p), bytes));
  std::lock_guard<std::mutex> lock(mu_);
  auto [lo, hi] = entries_.equal_range(hash);
  for (auto it = lo; it != hi; ++it)
    if (it->second.host.size() == bytes && std::memcmp(it->second.host.data(), p, bytes) == 0) return it->second.device;
  Entry e;
  e.host.assign(p, p + bytes);
  KILN_CUDA_TRY(cudaMalloc(&e.device, std::max<size_t>(bytes, 16)), "cudaMalloc for " + what);
  if (cudaError_t err = cudaMemcpy(e.device, p, bytes, cudaMemcpyHostToDevice); err != cudaSuccess) {
    cudaFree(e.device);
    return cuda_status(err, "upload of " + what);
  }
  bytes_ += bytes;
  const void* device = e.device;
  entries_.emplace(hash, std::move(e));
  return device;
}

size_t WeightStore::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

}  // namespace kiln::cuda
