// ConvTranspose (2-D, float32, any group): per image and group, col = W^T x (sgemm), then
// col2im scatters col into the output; bias last.
#include <cblas.h>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

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
  const std::vector<int64_t> st = node.attr_ints("strides", {1, 1});
  const std::vector<int64_t> dl = node.attr_ints("dilations", {1, 1});
  const std::vector<int64_t> op = node.attr_ints("output_padding", {0, 0});
  if (st.size() != 2 || dl.size() != 2 || op.size() != 2)
    return error(StatusCode::kInvalidArgument, "strides, dilations and output_padding need 2 values");
  const int64_t in_hw[2] = {h, wd}, k_hw[2] = {kh, kw};
  std::vector<int64_t> pads = node.attr_ints("pads", {0, 0, 0, 0});
  if (pads.size() != 4) return error(StatusCode::kInvalidArgument, "pads need 4 values");
  const std::vector<int64_t> output_shape = node.attr_ints("output_shape");
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  int64_t out_hw[2];
  for (int i = 0; i < 2; ++i) {
    const int64_t full = st[i] * (in_hw[i] - 1) + op[i] + (k_hw[i] - 1) * dl[i] + 1;
    if (!output_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      // Pads follow from the wanted output size (ONNX: SAME_UPPER puts the extra one at the end).
      const int64_t target = !output_shape.empty() ? output_shape[output_shape.size() - 2 + i] : in_hw[i] * st[i];
      const int64_t total = full - target;
      const bool upper = auto_pad == "SAME_UPPER";
      pads[i] = upper ? total / 2 : total - total / 2;
      pads[i + 2] = total - pads[i];
    } else if (auto_pad == "VALID") {
      pads[i] = pads[i + 2] = 0;
    }
    out_hw[i] = full - pads[i] - pads[i + 2];
    if (out_hw[i] <= 0) return error(StatusCode::kInvalidArgument, "output size would be ", out_hw[i]);
  }
  const int64_t oh = out_hw[0], ow = out_hw[1];
  const int64_t plane = h * wd, rows = mg * kh * kw;

  ir::Tensor y(ir::DType::kFloat32, {n, m, oh, ow});
  std::vector<float> col(static_cast<size_t>(rows * plane));
  for (int64_t ni = 0; ni < n; ++ni) {
    for (int64_t gi = 0; gi < group; ++gi) {
      // col[rows, plane] = W_g^T [rows, cg] * x_g [cg, plane]
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(rows), static_cast<int>(plane),
                  static_cast<int>(cg), 1.0f, w.data<float>() + gi * cg * rows, static_cast<int>(rows),
                  x.data<float>() + (ni * c + gi * cg) * plane, static_cast<int>(plane), 0.0f, col.data(),
                  static_cast<int>(plane));
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
