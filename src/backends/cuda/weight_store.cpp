#include "backends/cuda/weight_store.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "backends/cuda/cuda_check.h"

namespace kiln::cuda {

namespace {
size_t hash_of(const uint8_t* p, size_t bytes) {
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(p), bytes));
}
}  // namespace

WeightStore::~WeightStore() {
  for (auto& [hash, e] : entries_) cudaFree(e.device);
}

Result<const void*> WeightStore::upload(const void* data, size_t bytes, const std::string& what) {
  const auto* p = static_cast<const uint8_t*>(data);
  const size_t hash = hash_of(p, bytes);
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

const void* WeightStore::find_derived(size_t hash, const uint8_t* source, size_t bytes, const std::string& form) const {
  auto [lo, hi] = derived_.equal_range(hash);
  for (auto it = lo; it != hi; ++it)
    if (it->second.form == form && it->second.source.size() == bytes && std::memcmp(it->second.source.data(), source, bytes) == 0)
      return it->second.device;
  return nullptr;
}

Result<const void*> WeightStore::upload_derived(const void* source, size_t source_bytes, const std::string& form,
                                                const std::function<std::vector<uint8_t>()>& make,
                                                const std::string& what) {
  const auto* p = static_cast<const uint8_t*>(source);
  const size_t hash = hash_of(p, source_bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (const void* device = find_derived(hash, p, source_bytes, form)) return device;
  }
  // Converted outside the lock: engines planned side by side convert their own weights at
  // once; the same bytes still land on the device once (upload).
  const std::vector<uint8_t> bytes = make();
  KILN_ASSIGN_OR_RETURN(const void* device, upload(bytes.data(), bytes.size(), what));
  std::lock_guard<std::mutex> lock(mu_);
  if (!find_derived(hash, p, source_bytes, form))
    derived_.emplace(hash, Derived{form, std::vector<uint8_t>(p, p + source_bytes), device});
  return device;
}

size_t WeightStore::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

}  // namespace kiln::cuda
