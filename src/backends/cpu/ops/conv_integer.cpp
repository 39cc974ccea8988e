// ConvInteger: (x - x_zero_point) conv (w - w_zero_point) -> int32, exactly.
#include "backends/cpu/ops/integer_conv.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {
namespace {

Result<std::vector<double>> zero_points(const ir::Tensor* zp, int64_t count, const char* what) {
  if (!zp) return std::vector<double>(static_cast<size_t>(count), 0.0);
  const std::vector<int64_t> v = zp->as_int64();
  if (v.size() == 1) return std::vector<double>(static_cast<size_t>(count), static_cast<double>(v[0]));
  if (static_cast<int64_t>(v.size()) != count)
    return error(StatusCode::kInvalidArgument, what, " must have 1 or ", count, " values, got ", v.size());
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace

Status conv_integer(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 2, 4));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 0, {ir::DType::kUInt8, ir::DType::kInt8}));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 1, {ir::DType::kUInt8, ir::DType::kInt8}));
  const ir::Tensor& x = *ctx.inputs[0];
  const ir::Tensor& w = *ctx.inputs[1];
  KILN_ASSIGN_OR_RETURN(const ConvGeometry g, conv_geometry(ctx.node, x.shape(), w.shape()));
  const ir::Tensor* x_zp_t = ctx.inputs.size() > 2 ? ctx.inputs[2] : nullptr;
  const ir::Tensor* w_zp_t = ctx.inputs.size() > 3 ? ctx.inputs[3] : nullptr;
  KILN_ASSIGN_OR_RETURN(const std::vector<double> x_zp, zero_points(x_zp_t, 1, "x_zero_point"));
  KILN_ASSIGN_OR_RETURN(const std::vector<double> w_zp, zero_points(w_zp_t, g.m, "w_zero_point"));

  ctx.outputs.push_back(integer_conv(g, x, w, x_zp[0], w_zp));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
