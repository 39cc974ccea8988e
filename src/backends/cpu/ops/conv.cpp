// Conv (2-D, float32): im2col + sgemm per image and group; 1x1 stride-1 unpadded
// convolutions multiply the input directly.
#include "backends/cpu/ops/conv_geometry.h"
#include "backends/cpu/ops/ops.h"
#include "backends/cpu/ops/sgemm.h"

namespace kiln::cpu::ops {

Status conv(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 2, 3));
  KILN_RETURN_IF_ERROR(require_float32_inputs(ctx));
  const ir::Tensor& x = *ctx.inputs[0];
  const ir::Tensor& w = *ctx.inputs[1];
  const ir::Tensor* b = ctx.inputs.size() > 2 ? ctx.inputs[2] : nullptr;
  KILN_ASSIGN_OR_RETURN(const ConvGeometry g, conv_geometry(ctx.node, x.shape(), w.shape()));
  if (b && b->numel() != g.m) return error(StatusCode::kInvalidArgument, "bias needs ", g.m, " values");

  ir::Tensor y(ir::DType::kFloat32, {g.n, g.m, g.oh, g.ow});
  const int64_t cg = g.c / g.group, mg = g.m / g.group;
  const int64_t k = cg * g.kh * g.kw;
  const int64_t plane = g.oh * g.ow;
  const bool direct = g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_t == 0 &&
                      g.pad_l == 0 && g.pad_b == 0 && g.pad_r == 0;
  std::vector<float> col(direct ? 0 : static_cast<size_t>(k * plane));
  for (int64_t n = 0; n < g.n; ++n) {
    const float* image = x.data<float>() + n * g.c * g.h * g.w;
    float* out = y.data<float>() + n * g.m * plane;
    for (int64_t gi = 0; gi < g.group; ++gi) {
      const float* src = image + gi * cg * g.h * g.w;
      if (!direct) {
        im2col<float, float>(image, g, gi * cg, cg, 0.0f, col.data());
        src = col.data();
      }
      sgemm(false, false, mg, plane, k, 1.0f, w.data<float>() + gi * mg * k, k, src, plane, 0.0f, out + gi * mg * plane,
            plane);
    }
    if (b) {
      const float* bias = b->data<float>();
#pragma omp parallel for if (g.m * plane > (1 << 16))
      for (int64_t m = 0; m < g.m; ++m)
        for (int64_t i = 0; i < plane; ++i) out[m * plane + i] += bias[m];
    }
  }
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
