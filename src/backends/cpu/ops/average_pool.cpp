// AveragePool (2-D, float32). The divisor counts in-bounds taps, or with count_include_pad
// every tap inside the padded input (a ceil_mode window past the padding counts less).
#include <algorithm>

#include "backends/cpu/ops/ops.h"
#include "backends/cpu/ops/pool_geometry.h"

namespace kiln::cpu::ops {

Status average_pool(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 1));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 0, {ir::DType::kFloat32}));
  const ir::Tensor& x = *ctx.inputs[0];
  KILN_ASSIGN_OR_RETURN(const PoolGeometry g, pool_geometry(ctx.node, x.shape()));
  if (g.dil_h != 1 || g.dil_w != 1) return error(StatusCode::kUnsupported, "dilated AveragePool is not supported");
  const bool include_pad = ctx.node.attr_int("count_include_pad", 0) != 0;
  ir::Tensor y(ir::DType::kFloat32, {x.dim(0), x.dim(1), g.oh, g.ow});
  const float* in = x.data<float>();
  float* out = y.data<float>();
#pragma omp parallel for
  for (int64_t p = 0; p < g.nc; ++p) {
    const float* src = in + p * g.h * g.w;
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const int64_t y0 = oy * g.stride_h - g.pad_t, x0 = ox * g.stride_w - g.pad_l;
        const int64_t y1 = std::min(y0 + g.kh, g.h + g.pad_b), x1 = std::min(x0 + g.kw, g.w + g.pad_r);
        const int64_t padded_count = (y1 - y0) * (x1 - x0);
        const int64_t ys = std::max<int64_t>(y0, 0), xs = std::max<int64_t>(x0, 0);
        const int64_t ye = std::min(y1, g.h), xe = std::min(x1, g.w);
        float sum = 0.0f;
        for (int64_t iy = ys; iy < ye; ++iy)
          for (int64_t ix = xs; ix < xe; ++ix) sum += src[iy * g.w + ix];
        const int64_t count = include_pad ? padded_count : (ye - ys) * (xe - xs);
        out[(p * g.oh + oy) * g.ow + ox] = count > 0 ? sum / static_cast<float>(count) : 0.0f;
      }
  }
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
