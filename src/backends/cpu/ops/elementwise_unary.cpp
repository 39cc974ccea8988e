// Float32 unary ops: Sigmoid, Relu, SiLU (kiln's fused x * sigmoid(x)), Cos, Sin.
#include <cmath>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {
namespace {

template <typename F>
Status unary(KernelContext& ctx, F f) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 1));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 0, {ir::DType::kFloat32}));
  const ir::Tensor& x = *ctx.inputs[0];
  ir::Tensor out(ir::DType::kFloat32, x.shape());
  const float* px = x.data<float>();
  float* po = out.data<float>();
  const int64_t n = x.numel();
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) po[i] = f(px[i]);
  ctx.outputs.push_back(std::move(out));
  return Status::Ok();
}

float sigmoid_of(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

Status sigmoid(KernelContext& ctx) { return unary(ctx, sigmoid_of); }
Status relu(KernelContext& ctx) {
  return unary(ctx, [](float x) { return x > 0.0f ? x : 0.0f; });
}
Status silu(KernelContext& ctx) {
  return unary(ctx, [](float x) { return x * sigmoid_of(x); });
}
Status cos(KernelContext& ctx) {
  return unary(ctx, [](float x) { return std::cos(x); });
}
Status sin(KernelContext& ctx) {
  return unary(ctx, [](float x) { return std::sin(x); });
}

}  // namespace kiln::cpu::ops
