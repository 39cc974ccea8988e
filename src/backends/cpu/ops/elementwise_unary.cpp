// Float32 unary ops: Sigmoid, Relu, SiLU (kiln's fused x * sigmoid(x)), Cos, Sin.
#include <algorithm>
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

// The logistic function as a rational polynomial in x (Eigen's coefficients, also used by
// ONNX Runtime's MLAS FMA3 kernel), evaluated with the same fused multiply-adds so that
// results are bit-identical to ONNX Runtime on x86-64. That matters for dynamically
// quantized models: a one-ulp difference before DynamicQuantizeLinear can move a value
// across a rounding boundary and the difference then grows layer after layer. The
// approximation is accurate to about 1 ulp over the clamped range [-18, 18].
__attribute__((target_clones("fma", "default"))) float sigmoid_of(float x) {
  x = std::clamp(x, -18.0f, 18.0f);
  const float x2 = x * x;
  float p = std::fma(x2, 4.37031012579801e-11f, 1.15627324459942e-07f);
  p = std::fma(x2, p, 6.08574864600143e-05f);
  p = std::fma(x2, p, 8.51377133304701e-03f);
  p = std::fma(x2, p, 2.48287947061529e-01f);
  float q = std::fma(x2, 6.10247389755681e-13f, 5.76102136993427e-09f);
  q = std::fma(x2, q, 6.29106785017040e-06f);
  q = std::fma(x2, q, 1.70198817374094e-03f);
  q = std::fma(x2, q, 1.16817656904453e-01f);
  q = std::fma(x2, q, 9.93151921023180e-01f);
  return std::max(0.0f, (x * p) / q + 0.5f);
}

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
