// Device copies of an engine's constant data (weights, biases, folded scales). The engines
// planned from one model for several shapes (the prepared batch sizes and input sizes of a
// profile) share one store, so identical bytes are on the device once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
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
  // The device copy of a form of `source` (weights in another layout or dtype; `form` names
  // the conversion and the source's shape): `make` computes its bytes the first time this
  // source and form are asked for, and later engines of the model (other batch or input
  // sizes) find it by the source's bytes without converting again (yolo11n's conv weights:
  // about 15 ms of host work per engine).
  Result<const void*> upload_derived(const void* source, size_t source_bytes, const std::string& form,
                                     const std::function<std::vector<uint8_t>()>& make, const std::string& what);
  // Device bytes held.
  size_t bytes() const;

 private:
  struct Entry {
    std::vector<uint8_t> host;  // compared byte for byte: a hash match alone is not proof
    void* device = nullptr;
  };
  struct Derived {
    std::string form;
    std::vector<uint8_t> source;  // compared byte for byte, as Entry::host
    const void* device = nullptr;  // an entry's
  };
  // The derived form of `source` already uploaded, or null (mu_ held).
  const void* find_derived(size_t hash, const uint8_t* source, size_t bytes, const std::string& form) const;

  mutable std::mutex mu_;
  std::unordered_multimap<size_t, Entry> entries_;  // by hash of the bytes
  std::unordered_multimap<size_t, Derived> derived_;  // by hash of the source's bytes
  size_t bytes_ = 0;
};

}  // namespace kiln::cuda
