// Device copies of an engine's constant data (weights, biases, folded scales). The engines
// planned from one model for several shapes (the prepared batch sizes and input sizes of a
// profile) share one store, so identical bytes are on the device once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kiln/status.h"

namespace kiln::cuda {

class WeightStore {
 public:
  WeightStore() = default;
  ~WeightStore();
  WeightStore(const WeightStore&) = delete;
  WeightStore& operator=(const WeightStore&) = delete;

  // The device copy of `bytes` bytes at `data`: uploaded on first request, shared after.
  Result<const void*> upload(const void* data, size_t bytes, const std::string& what);
  // Device bytes held.
  size_t bytes() const;

 private:
  struct Entry {
    std::vector<uint8_t> host;  // compared byte for byte: a hash match alone is not proof
    void* device = nullptr;
  };
  mutable std::mutex mu_;
  std::unordered_multimap<size_t, Entry> entries_;  // by hash of the bytes
  size_t bytes_ = 0;
};

}  // namespace kiln::cuda
