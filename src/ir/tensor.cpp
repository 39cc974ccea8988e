#include "ir/tensor.h"

#include <cstring>
#include <sstream>

#include "core/half.h"

namespace kiln::ir {

int64_t shape_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? "," : "") << shape[i];
  os << ']';
  return os.str();
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)), bytes_(static_cast<size_t>(shape_numel(shape_)) * dtype_size(dtype)) {}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape, std::span<const uint8_t> bytes)
    : dtype_(dtype), shape_(std::move(shape)), bytes_(bytes.begin(), bytes.end()) {
  assert(bytes_.size() == static_cast<size_t>(shape_numel(shape_)) * dtype_size(dtype));
}

Tensor Tensor::reshaped(std::vector<int64_t> shape) const {
  assert(shape_numel(shape) == numel());
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

std::vector<int64_t> Tensor::as_int64() const {
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (dtype_) {
      case DType::kInt64: out[i] = data<int64_t>()[i]; break;
      case DType::kInt32: out[i] = data<int32_t>()[i]; break;
      case DType::kInt8: out[i] = data<int8_t>()[i]; break;
      case DType::kUInt8: out[i] = data<uint8_t>()[i]; break;
      case DType::kBool: out[i] = data<bool>()[i]; break;
      case DType::kFloat32: out[i] = static_cast<int64_t>(data<float>()[i]); break;
      case DType::kFloat16: out[i] = static_cast<int64_t>(half_to_float(reinterpret_cast<const uint16_t*>(raw())[i])); break;
    }
  }
  return out;
}

Tensor Tensor::to_float32() const {
  if (dtype_ == DType::kFloat32) return *this;
  Tensor t(DType::kFloat32, shape_);
  float* o = t.data<float>();
  for (int64_t i = 0; i < numel(); ++i) {
    switch (dtype_) {
      case DType::kFloat16: o[i] = half_to_float(reinterpret_cast<const uint16_t*>(raw())[i]); break;
      case DType::kInt8: o[i] = data<int8_t>()[i]; break;
      case DType::kUInt8: o[i] = data<uint8_t>()[i]; break;
      case DType::kInt32: o[i] = static_cast<float>(data<int32_t>()[i]); break;
      case DType::kInt64: o[i] = static_cast<float>(data<int64_t>()[i]); break;
      case DType::kBool: o[i] = data<bool>()[i] ? 1.f : 0.f; break;
      case DType::kFloat32: break;
    }
  }
  return t;
}

}  // namespace kiln::ir
