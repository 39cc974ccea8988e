#include "onnx/value_info.h"

#include "onnx/tensor_conversion.h"

namespace kiln::onnx {

Status apply_value_info(const ::onnx::ValueInfoProto& info, ir::Value& value, const ImportContext& ctx) {
  if (!info.has_type()) return Status::Ok();
  if (!info.type().has_tensor_type())
    return error(StatusCode::kUnsupported, ctx.file, ": value '", info.name(), "' is not a tensor");
  const auto& tensor_type = info.type().tensor_type();
  if (tensor_type.elem_type() != ::onnx::TensorProto::UNDEFINED) {
    std::optional<ir::DType> dtype = ir::dtype_from_onnx(tensor_type.elem_type());
    if (!dtype)
      return error(StatusCode::kUnsupported, ctx.file, ": value '", info.name(), "' has unsupported dtype ",
                   onnx_dtype_name(tensor_type.elem_type()));
    value.dtype = *dtype;
  }
  if (tensor_type.has_shape()) {
    ir::Shape shape;
    for (const auto& dim : tensor_type.shape().dim()) {
      if (dim.has_dim_value() && dim.dim_value() >= 0) shape.push_back(ir::Dim::known(dim.dim_value()));
      else if (dim.has_dim_param() && !dim.dim_param().empty()) shape.push_back(ir::Dim::symbolic(dim.dim_param()));
      else shape.push_back(ir::Dim{});
    }
    value.shape = std::move(shape);
  }
  return Status::Ok();
}

}  // namespace kiln::onnx
