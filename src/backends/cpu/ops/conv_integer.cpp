// ConvInteger: (x - x_zero_point) conv (w - w_zero_point) -> int32, exactly. Products
// and sums are formed in double through dgemm: every partial sum is an integer far below
// 2^53, so the result is exact (float32 sgemm would not be past 2^24).
#include <cblas.h>

#include <cmath>

#include "backends/cpu/ops/conv_geometry.h"
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

  const int64_t cg = g.c / g.group, mg = g.m / g.group;
  const int64_t k = cg * g.kh * g.kw;
  const int64_t plane = g.oh * g.ow;
  std::vector<double> weights(static_cast<size_t>(g.m * k));
  const std::vector<int64_t> w_int = w.as_int64();
  for (int64_t m = 0; m < g.m; ++m)
    for (int64_t i = 0; i < k; ++i) weights[m * k + i] = static_cast<double>(w_int[m * k + i]) - w_zp[m];

  ir::Tensor y(ir::DType::kInt32, {g.n, g.m, g.oh, g.ow});
  std::vector<double> col(static_cast<size_t>(k * plane));
  std::vector<double> acc(static_cast<size_t>(mg * plane));
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t gi = 0; gi < g.group; ++gi) {
      if (x.dtype() == ir::DType::kUInt8)
        im2col<uint8_t, double>(x.data<uint8_t>() + n * g.c * g.h * g.w, g, gi * cg, cg, x_zp[0], col.data());
      else
        im2col<int8_t, double>(x.data<int8_t>() + n * g.c * g.h * g.w, g, gi * cg, cg, x_zp[0], col.data());
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(mg), static_cast<int>(plane),
                  static_cast<int>(k), 1.0, weights.data() + gi * mg * k, static_cast<int>(k), col.data(),
                  static_cast<int>(plane), 0.0, acc.data(), static_cast<int>(plane));
      int32_t* out = y.data<int32_t>() + (n * g.m + gi * mg) * plane;
      const int64_t total = mg * plane;
#pragma omp parallel for if (total > (1 << 16))
      for (int64_t i = 0; i < total; ++i) out[i] = static_cast<int32_t>(std::lrint(acc[i]));
    }
  }
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
