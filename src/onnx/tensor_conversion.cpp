#include "onnx/tensor_conversion.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <system_error>
#include <vector>

#include "ir/size_limits.h"

namespace kiln::onnx {

namespace fs = std::filesystem;
using ::onnx::TensorProto;


std::string onnx_dtype_name(int32_t onnx_type) {
  if (::onnx::TensorProto_DataType_IsValid(onnx_type))
    return ::onnx::TensorProto_DataType_Name(static_cast<TensorProto::DataType>(onnx_type));
  return "data type " + std::to_string(onnx_type);
}

namespace {

// Element count of `dims` within ir's tensor limits (a corrupt file must not make us
// allocate petabytes).
Result<int64_t> checked_numel(const std::vector<int64_t>& dims, const std::string& what, const ImportContext& ctx) {
  std::optional<int64_t> n = ir::checked_numel(dims);
  if (!n) return error(StatusCode::kCorrupt, ctx.file, ": ", what, " has invalid shape ", ir::shape_to_string(dims));
  return *n;
}

// Narrows ONNX's int32_data (which also carries int8, uint8, bool and float16 bits) into
// `out`, one element of type T per entry.
template <typename T>
void narrow_int32_data(const TensorProto& proto, uint8_t* out) {
  T* dst = reinterpret_cast<T*>(out);
  for (int i = 0; i < proto.int32_data_size(); ++i) dst[i] = static_cast<T>(proto.int32_data(i));
}

Result<ir::Tensor> from_typed_fields(const TensorProto& proto, ir::DType dtype, std::vector<int64_t> dims,
                                     int64_t numel, const std::string& what, const ImportContext& ctx) {
  int64_t count = 0;
  switch (dtype) {
    case ir::DType::kFloat32: count = proto.float_data_size(); break;
    case ir::DType::kInt64: count = proto.int64_data_size(); break;
    default: count = proto.int32_data_size(); break;
  }
  if (count != numel)
    return error(StatusCode::kCorrupt, ctx.file, ": ", what, " holds ", count, " values but its shape ",
                 ir::shape_to_string(dims), " needs ", numel);
  ir::Tensor t(dtype, std::move(dims));
  if (numel == 0) return t;
  switch (dtype) {
    case ir::DType::kFloat32:
      std::memcpy(t.raw(), proto.float_data().data(), t.nbytes());
      break;
    case ir::DType::kInt64:
      std::memcpy(t.raw(), proto.int64_data().data(), t.nbytes());
      break;
    case ir::DType::kInt32:
      std::memcpy(t.raw(), proto.int32_data().data(), t.nbytes());
      break;
    case ir::DType::kInt8: narrow_int32_data<int8_t>(proto, t.raw()); break;
    case ir::DType::kUInt8: narrow_int32_data<uint8_t>(proto, t.raw()); break;
    case ir::DType::kBool: narrow_int32_data<bool>(proto, t.raw()); break;
    case ir::DType::kFloat16: narrow_int32_data<uint16_t>(proto, t.raw()); break;  // IEEE half bits
  }
  return t;
}

struct ExternalRef {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
};

Result<uint64_t> parse_size(const std::string& text, const std::string& key, const std::string& what,
                            const ImportContext& ctx) {
  uint64_t v = 0;
  bool ok = !text.empty() && text.size() <= 19;
  for (char c : text) {
    if (c < '0' || c > '9') ok = false;
    else v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok)
    return error(StatusCode::kCorrupt, ctx.file, ": ", what, " has invalid external data ", key, " '", text, "'");
  return v;
}

Result<ExternalRef> parse_external_ref(const TensorProto& proto, const std::string& what,
                                       const ImportContext& ctx) {
  ExternalRef ref;
  for (const auto& entry : proto.external_data()) {
    if (entry.key() == "location") {
      ref.location = entry.value();
    } else if (entry.key() == "offset") {
      KILN_ASSIGN_OR_RETURN(ref.offset, parse_size(entry.value(), "offset", what, ctx));
    } else if (entry.key() == "length") {
      KILN_ASSIGN_OR_RETURN(ref.length, parse_size(entry.value(), "length", what, ctx));
    }  // "checksum" and unknown keys carry nothing we need
  }
  if (ref.location.empty())
    return error(StatusCode::kCorrupt, ctx.file, ": ", what, " is stored externally but names no location");
  // The data file must stay inside the model's folder: an absolute path or a '..' would let
  // a model read any file on the machine.
  fs::path loc(ref.location);
  bool escapes = loc.is_absolute() || loc.has_root_name() || loc.has_root_directory();
  for (const auto& part : loc) escapes = escapes || part == "..";
  if (escapes)
    return error(StatusCode::kCorrupt, ctx.file, ": ", what, " has external data location '", ref.location,
                 "' outside the model's folder");
  return ref;
}

Result<ir::Tensor> from_external_data(const TensorProto& proto, ir::DType dtype, std::vector<int64_t> dims,
                                      size_t nbytes, const std::string& what, const ImportContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ExternalRef ref, parse_external_ref(proto, what, ctx));
  fs::path data_path = ctx.base_dir / ref.location;
  std::error_code ec;
  if (!fs::is_regular_file(data_path, ec))
    return error(StatusCode::kNotFound, ctx.file, ": external data file '", data_path.string(), "' of ", what,
                 " not found");
  // Symlinks resolved: a link inside the folder must not lead outside it either.
  const fs::path real_base = fs::canonical(ctx.base_dir, ec);
  const fs::path real_data = ec ? fs::path() : fs::canonical(data_path, ec);
  if (ec || std::mismatch(real_base.begin(), real_base.end(), real_data.begin(), real_data.end()).first != real_base.end())
    return error(StatusCode::kCorrupt, ctx.file, ": ", what, " has external data location '", ref.location,
                 "' that resolves outside the model's folder");
  const uint64_t file_size = fs::file_size(data_path, ec);
  if (ec) return error(StatusCode::kIoError, ctx.file, ": cannot read size of '", data_path.string(), "'");
  const uint64_t length = ref.length.value_or(file_size >= ref.offset ? file_size - ref.offset : 0);
  if (ref.offset > file_size || length > file_size - ref.offset)
    return error(StatusCode::kCorrupt, ctx.file, ": external data of ", what, " (offset ", ref.offset,
                 ", length ", length, ") lies beyond the end of '", data_path.string(), "' (", file_size,
                 " bytes)");
  if (length != nbytes)
    return error(StatusCode::kCorrupt, ctx.file, ": external data of ", what, " has ", length,
                 " bytes but its shape ", ir::shape_to_string(dims), " needs ", nbytes);
  ir::Tensor t(dtype, std::move(dims));
  std::ifstream in(data_path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(ref.offset));
  if (nbytes > 0 && !in.read(reinterpret_cast<char*>(t.raw()), static_cast<std::streamsize>(nbytes)))
    return error(StatusCode::kIoError, ctx.file, ": cannot read external data of ", what, " from '",
                 data_path.string(), "'");
  return t;
}

}  // namespace

Result<ir::Tensor> tensor_from_proto(const TensorProto& proto, const std::string& what, const ImportContext& ctx) {
  std::optional<ir::DType> dtype = ir::dtype_from_onnx(proto.data_type());
  if (!dtype)
    return error(StatusCode::kUnsupported, ctx.file, ": ", what, " has unsupported dtype ",
                 onnx_dtype_name(proto.data_type()));
  if (proto.has_segment())
    return error(StatusCode::kUnsupported, ctx.file, ": ", what, " is a segmented tensor");
  std::vector<int64_t> dims(proto.dims().begin(), proto.dims().end());
  KILN_ASSIGN_OR_RETURN(int64_t numel, checked_numel(dims, what, ctx));
  const size_t nbytes = static_cast<size_t>(numel) * ir::dtype_size(*dtype);

  if (proto.data_location() == TensorProto::EXTERNAL)
    return from_external_data(proto, *dtype, std::move(dims), nbytes, what, ctx);
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    if (raw.size() != nbytes)
      return error(StatusCode::kCorrupt, ctx.file, ": ", what, " has ", raw.size(), " bytes of data but its shape ",
                   ir::shape_to_string(dims), " needs ", nbytes);
    // ONNX raw_data is little-endian, as is every host kiln runs on.
    return ir::Tensor(*dtype, std::move(dims),
                      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
  }
  return from_typed_fields(proto, *dtype, std::move(dims), numel, what, ctx);
}

}  // namespace kiln::onnx
