// Element types kiln's IR knows. The set the supported models use, no more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kiln::ir {

enum class DType : uint8_t { kFloat32, kFloat16, kInt8, kUInt8, kInt32, kInt64, kBool };

size_t dtype_size(DType t);
std::string_view dtype_name(DType t);  // "float32", "float16", "int8", ...

// ONNX TensorProto data-type code -> DType (nullopt for types kiln does not support). The
// IR keeps ONNX codes where ONNX attributes carry them (Cast's `to`).
std::optional<DType> dtype_from_onnx(int64_t code);

// C++ type -> DType, for typed accessors.
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::kFloat32; }
template <> constexpr DType dtype_of<int8_t>() { return DType::kInt8; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::kUInt8; }
template <> constexpr DType dtype_of<int32_t>() { return DType::kInt32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::kInt64; }
template <> constexpr DType dtype_of<bool>() { return DType::kBool; }

}  // namespace kiln::ir
