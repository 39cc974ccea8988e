// Cast between kiln's dtypes. `to` is the ONNX TensorProto data type number, as in the
// ONNX model. Float -> integer truncates toward zero (C++ conversion, as ONNX Runtime).
#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"
#include "core/half.h"

namespace kiln::cpu::ops {
namespace {

template <typename S, typename D>
void convert(const S* src, D* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<D, bool>) dst[i] = src[i] != S{0};
    else dst[i] = static_cast<D>(src[i]);
  }
}

}  // namespace

Status cast(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 1));
  if (!ctx.node.has_attr("to")) return error(StatusCode::kInvalidArgument, "attribute 'to' is missing");
  const std::optional<ir::DType> to_code = ir::dtype_from_onnx(ctx.node.attr_int("to", 0));
  if (!to_code)
    return error(StatusCode::kUnsupported, "cast to ONNX data type ", ctx.node.attr_int("to", 0), " not supported");
  const ir::DType to = *to_code;
  // float16 goes through float32 on either side; the other pairs convert directly.
  ir::Tensor x = ctx.inputs[0]->dtype() == ir::DType::kFloat16 ? ctx.inputs[0]->to_float32() : *ctx.inputs[0];
  const ir::DType mid = to == ir::DType::kFloat16 ? ir::DType::kFloat32 : to;
  ir::Tensor out(mid, x.shape());
  const int64_t n = x.numel();
  Status st = dispatch_dtype<float, uint8_t, int8_t, int32_t, int64_t, bool>(x.dtype(), "Cast", [&](auto s) {
    using S = decltype(s);
    (void)dispatch_dtype<float, uint8_t, int8_t, int32_t, int64_t, bool>(mid, "Cast", [&](auto d) {
      using D = decltype(d);
      convert(x.data<S>(), out.data<D>(), n);
    });
  });
  KILN_RETURN_IF_ERROR(st);
  if (to == ir::DType::kFloat16) {
    ir::Tensor half(ir::DType::kFloat16, out.shape());
    auto* h = reinterpret_cast<uint16_t*>(half.raw());
    for (int64_t i = 0; i < n; ++i) h[i] = kiln::float_to_half(out.data<float>()[i]);
    out = std::move(half);
  }
  ctx.outputs.push_back(std::move(out));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
