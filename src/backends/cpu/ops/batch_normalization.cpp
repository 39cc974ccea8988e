// BatchNormalization, inference form: y = (x - mean) / sqrt(var + eps) * scale + B per channel.
#include <cmath>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status batch_normalization(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 5, 5));
  for (size_t i = 0; i < 5; ++i) KILN_RETURN_IF_ERROR(require_dtype(ctx, i, {ir::DType::kFloat32}));
  if (ctx.node.outputs.size() > 1 || ctx.node.attr_int("training_mode", 0) != 0)
    return error(StatusCode::kUnsupported, "training mode is not supported");
  const ir::Tensor& x = *ctx.inputs[0];
  if (x.rank() < 2) return error(StatusCode::kInvalidArgument, "input must have rank >= 2");
  const int64_t n = x.dim(0), c = x.dim(1);
  for (size_t i = 1; i < 5; ++i)
    if (ctx.inputs[i]->numel() != c) return error(StatusCode::kInvalidArgument, "input ", i, " needs ", c, " values");
  const float eps = ctx.node.attr_float("epsilon", 1e-5f);
  const float* scale = ctx.inputs[1]->data<float>();
  const float* bias = ctx.inputs[2]->data<float>();
  const float* mean = ctx.inputs[3]->data<float>();
  const float* var = ctx.inputs[4]->data<float>();
  const int64_t plane = n * c == 0 ? 0 : x.numel() / (n * c);
  ir::Tensor y(ir::DType::kFloat32, x.shape());
#pragma omp parallel for if (x.numel() > (1 << 16))
  for (int64_t p = 0; p < n * c; ++p) {
    const int64_t ch = p % c;
    const float a = scale[ch] / std::sqrt(var[ch] + eps);
    const float b = bias[ch] - mean[ch] * a;
    const float* src = x.data<float>() + p * plane;
    float* dst = y.data<float>() + p * plane;
    for (int64_t i = 0; i < plane; ++i) dst[i] = src[i] * a + b;
  }
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
