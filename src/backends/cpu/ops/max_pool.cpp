// MaxPool (2-D, float32): max over the in-bounds taps of each window.
#include <limits>

#include "backends/cpu/ops/ops.h"
#include "backends/cpu/ops/pool_geometry.h"

namespace kiln::cpu::ops {

Status max_pool(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 1));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 0, {ir::DType::kFloat32}));
  if (ctx.node.outputs.size() > 1) return error(StatusCode::kUnsupported, "the Indices output is not supported");
  const ir::Tensor& x = *ctx.inputs[0];
  KILN_ASSIGN_OR_RETURN(const PoolGeometry g, pool_geometry(ctx.node, x.shape()));
  ir::Tensor y(ir::DType::kFloat32, {x.dim(0), x.dim(1), g.oh, g.ow});
  const float* in = x.data<float>();
  float* out = y.data<float>();
#pragma omp parallel for
  for (int64_t p = 0; p < g.nc; ++p) {
    const float* src = in + p * g.h * g.w;
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        float best = -std::numeric_limits<float>::infinity();
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t ix = ox * g.stride_w - g.pad_l + kx * g.dil_w;
            if (ix >= 0 && ix < g.w && src[iy * g.w + ix] > best) best = src[iy * g.w + ix];
          }
        }
        out[(p * g.oh + oy) * g.ow + ox] = best;
      }
  }
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
