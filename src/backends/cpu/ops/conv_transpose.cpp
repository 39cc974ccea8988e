// ConvTranspose (2-D, float32, any group): per image and group, col = W^T x (sgemm), then
// col2im scatters col into the output; bias last.
#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"
#include "backends/cpu/ops/sgemm.h"
#include "ir/window_geometry.h"

namespace kiln::cpu::ops {

Status conv_transpose(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 2, 3));
  KILN_RETURN_IF_ERROR(require_float32_inputs(ctx));
  const ir::Tensor& x = *ctx.inputs[0];
  const ir::Tensor& w = *ctx.inputs[1];
  const ir::Tensor* b = ctx.inputs.size() > 2 ? ctx.inputs[2] : nullptr;
  if (x.rank() != 4 || w.rank() != 4)
    return error(StatusCode::kUnsupported, "only 2-D ConvTranspose is supported, got input ",
                 ir::shape_to_string(x.shape()));
  const ir::Node& node = ctx.node;
  const int64_t group = node.attr_int("group", 1);
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
  if (group <= 0 || w.dim(0) != c || c % group != 0)
    return error(StatusCode::kInvalidArgument, "weight ", ir::shape_to_string(w.shape()), " does not match input ",
                 ir::shape_to_string(x.shape()), " and group ", group);
  const int64_t cg = c / group, mg = w.dim(1), m = mg * group, kh = w.dim(2), kw = w.dim(3);
  KILN_ASSIGN_OR_RETURN(ir::Window win, ir::read_window(node, 2, {kh, kw}));
  KILN_ASSIGN_OR_RETURN(ir::TransposedSizes sizes, ir::transposed_output_sizes(win, {h, wd}, node.attr_ints("output_shape")));
  const std::vector<int64_t>& st = win.strides;
  const std::vector<int64_t>& dl = win.dilations;
  const std::vector<int64_t>& pads = sizes.pads;
  const int64_t oh = sizes.out[0], ow = sizes.out[1];
  const int64_t plane = h * wd, rows = mg * kh * kw;

  ir::Tensor y(ir::DType::kFloat32, {n, m, oh, ow});
  std::vector<float> col(static_cast<size_t>(rows * plane));
  for (int64_t ni = 0; ni < n; ++ni) {
    for (int64_t gi = 0; gi < group; ++gi) {
      // col[rows, plane] = W_g^T [rows, cg] * x_g [cg, plane]
      sgemm(true, false, rows, plane, cg, 1.0f, w.data<float>() + gi * cg * rows, rows,
            x.data<float>() + (ni * c + gi * cg) * plane, plane, 0.0f, col.data(), plane);
      float* out = y.data<float>() + (ni * m + gi * mg) * oh * ow;
      // Each output channel is written by its own rows only, so channels run in parallel.
#pragma omp parallel for
      for (int64_t mo = 0; mo < mg; ++mo) {
        for (int64_t ky = 0; ky < kh; ++ky)
          for (int64_t kx = 0; kx < kw; ++kx) {
            const float* src = col.data() + ((mo * kh + ky) * kw + kx) * plane;
            for (int64_t iy = 0; iy < h; ++iy) {
              const int64_t oy = iy * st[0] - pads[0] + ky * dl[0];
              if (oy < 0 || oy >= oh) continue;
              for (int64_t ix = 0; ix < wd; ++ix) {
                const int64_t ox = ix * st[1] - pads[1] + kx * dl[1];
                if (ox >= 0 && ox < ow) out[(mo * oh + oy) * ow + ox] += src[iy * wd + ix];
              }
            }
          }
      }
    }
  }
  if (b) {
    if (b->numel() != m) return error(StatusCode::kInvalidArgument, "bias needs ", m, " values");
    float* out = y.data<float>();
    for (int64_t ni = 0; ni < n; ++ni)
      for (int64_t mo = 0; mo < m; ++mo)
        for (int64_t i = 0; i < oh * ow; ++i) out[(ni * m + mo) * oh * ow + i] += b->data<float>()[mo];
  }
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
