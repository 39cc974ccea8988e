// A dense host tensor: dtype, concrete shape, row-major bytes. Used for weights in the
// IR and for activations in the CPU backend.
#pragma once

#include <cassert>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ir/dtype.h"

namespace kiln::ir {

int64_t shape_numel(const std::vector<int64_t>& shape);
std::string shape_to_string(const std::vector<int64_t>& shape);  // "[1,3,640,640]"

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor of the given type and shape.
  Tensor(DType dtype, std::vector<int64_t> shape);
  // Tensor holding a copy of `bytes` (size must match).
  Tensor(DType dtype, std::vector<int64_t> shape, std::span<const uint8_t> bytes);

  template <typename T>
  static Tensor from_vector(std::vector<int64_t> shape, const std::vector<T>& values) {
    Tensor t(dtype_of<T>(), std::move(shape));
    assert(static_cast<size_t>(t.numel()) == values.size());
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }
  template <typename T>
  static Tensor scalar(T v) { return from_vector<T>({}, {v}); }

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim(size_t i) const { return shape_[i]; }
  size_t rank() const { return shape_.size(); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

  uint8_t* raw() { return bytes_.data(); }
  const uint8_t* raw() const { return bytes_.data(); }

  template <typename T> T* data() {
    assert(dtype_of<T>() == dtype_);
    return reinterpret_cast<T*>(bytes_.data());
  }
  template <typename T> const T* data() const {
    assert(dtype_of<T>() == dtype_);
    return reinterpret_cast<const T*>(bytes_.data());
  }
  template <typename T> std::span<const T> values() const { return {data<T>(), static_cast<size_t>(numel())}; }

  // Same bytes, new shape (numel must match).
  Tensor reshaped(std::vector<int64_t> shape) const;
  // Integer tensor (int32/int64) read as int64 values; for shape-like inputs.
  std::vector<int64_t> as_int64() const;
  // Float32 copy of any numeric tensor.
  Tensor to_float32() const;

 private:
  DType dtype_ = DType::kFloat32;
  std::vector<int64_t> shape_;
  std::vector<uint8_t> bytes_;
};

}  // namespace kiln::ir
