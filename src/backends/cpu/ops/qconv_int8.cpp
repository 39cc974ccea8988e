// QConvInt8 (ir/qconv_int8.h): the exact int8 convolution, then the shared epilogue (scale,
// bias, SiLU, residual, requantization) element by element.
#include <string>

#include "backends/cpu/ops/integer_conv.h"
#include "backends/cpu/ops/ops.h"
#include "ir/qconv_int8.h"

namespace kiln::cpu::ops {
namespace {

using namespace ir::qconv;

const ir::Tensor* optional_input(const KernelContext& ctx, size_t i) {
  return i < ctx.inputs.size() ? ctx.inputs[i] : nullptr;
}

Status require_count(const ir::Tensor* t, int64_t count, const char* what, int64_t alternative = -1) {
  if (!t || t->numel() == count || t->numel() == alternative) return Status::Ok();
  return error(StatusCode::kInvalidArgument, what, " has ", t->numel(), " values, expected ", count,
               alternative > 0 ? " or " + std::to_string(alternative) : std::string());
}

}  // namespace

Status qconv_int8(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, kWScale + 1, kInputCount));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, kX, {ir::DType::kInt8}));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, kXScale, {ir::DType::kFloat32}));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, kXZeroPoint, {ir::DType::kInt8}));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, kW, {ir::DType::kInt8}));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, kWScale, {ir::DType::kFloat32}));
  for (size_t i : {kBias, kResidual, kYScale})
    if (optional_input(ctx, i)) KILN_RETURN_IF_ERROR(require_dtype(ctx, i, {ir::DType::kFloat32}));
  if (optional_input(ctx, kYZeroPoint)) KILN_RETURN_IF_ERROR(require_dtype(ctx, kYZeroPoint, {ir::DType::kInt8}));
  const std::string activation = ctx.node.attr_string(kActivationAttr, "");
  if (!activation.empty() && activation != kSiLU)
    return error(StatusCode::kInvalidArgument, "activation '", activation, "' is not one of: SiLU");

  const ir::Tensor& x = *ctx.inputs[kX];
  const ir::Tensor& w = *ctx.inputs[kW];
  KILN_ASSIGN_OR_RETURN(const ConvGeometry g, conv_geometry(ctx.node, x.shape(), w.shape()));
  const ir::Tensor& w_scale = *ctx.inputs[kWScale];
  const ir::Tensor* bias = optional_input(ctx, kBias);
  const ir::Tensor* residual = optional_input(ctx, kResidual);
  const ir::Tensor* y_scale = optional_input(ctx, kYScale);
  const ir::Tensor* y_zero = optional_input(ctx, kYZeroPoint);
  KILN_RETURN_IF_ERROR(require_count(ctx.inputs[kXScale], 1, "x_scale"));
  KILN_RETURN_IF_ERROR(require_count(ctx.inputs[kXZeroPoint], 1, "x_zero_point"));
  KILN_RETURN_IF_ERROR(require_count(&w_scale, g.m, "w_scale", 1));
  KILN_RETURN_IF_ERROR(require_count(bias, g.m, "bias"));
  KILN_RETURN_IF_ERROR(require_count(y_scale, 1, "y_scale"));
  KILN_RETURN_IF_ERROR(require_count(y_zero, 1, "y_zero_point"));
  if (y_zero && !y_scale) return error(StatusCode::kInvalidArgument, "y_zero_point without y_scale");
  const std::vector<int64_t> out_shape = {g.n, g.m, g.oh, g.ow};
  if (residual && residual->shape() != out_shape)
    return error(StatusCode::kInvalidArgument, "residual ", ir::shape_to_string(residual->shape()),
                 " differs from the output ", ir::shape_to_string(out_shape));

  const ir::Tensor acc = integer_conv(g, x, w, ctx.inputs[kXZeroPoint]->data<int8_t>()[0],
                                      std::vector<double>(static_cast<size_t>(g.m), 0.0));
  const float x_scale = ctx.inputs[kXScale]->data<float>()[0];
  const bool silu_on = activation == kSiLU;
  const float out_scale = y_scale ? y_scale->data<float>()[0] : 0.0f;
  const int32_t out_zero = y_zero ? y_zero->data<int8_t>()[0] : 0;
  ir::Tensor y(y_scale ? ir::DType::kInt8 : ir::DType::kFloat32, out_shape);
  const int64_t plane = g.oh * g.ow;
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t c = 0; c < g.m; ++c) {
      const float scale = accumulator_scale(x_scale, w_scale.data<float>()[w_scale.numel() == 1 ? 0 : c]);
      const float b = bias ? bias->data<float>()[c] : 0.0f;
      const int64_t base = (n * g.m + c) * plane;
      for (int64_t p = 0; p < plane; ++p) {
        float v = dequantize_accumulator(acc.data<int32_t>()[base + p], scale, b);
        if (silu_on) v = ir::qconv::silu(v);
        if (residual) v += residual->data<float>()[base + p];
        if (y_scale) y.data<int8_t>()[base + p] = requantize(v, out_scale, out_zero);
        else y.data<float>()[base + p] = v;
      }
    }
  }
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
