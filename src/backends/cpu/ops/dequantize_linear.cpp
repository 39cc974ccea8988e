// DequantizeLinear: (x - zero_point) * scale, per tensor or per axis; x int8/uint8/int32.
#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"
#include "backends/cpu/ops/quantize_util.h"

namespace kiln::cpu::ops {

Status dequantize_linear(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 2, 3));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 0, {ir::DType::kUInt8, ir::DType::kInt8, ir::DType::kInt32}));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 1, {ir::DType::kFloat32}));
  const ir::Tensor& x = *ctx.inputs[0];
  const ir::Tensor& scale = *ctx.inputs[1];
  const ir::Tensor* zp = ctx.inputs.size() > 2 ? ctx.inputs[2] : nullptr;
  KILN_ASSIGN_OR_RETURN(const QuantParamLayout layout, quant_param_layout(ctx.node, x, scale, zp));
  const std::vector<int64_t> zps = zp ? zp->as_int64() : std::vector<int64_t>(scale.numel(), 0);
  ir::Tensor y(ir::DType::kFloat32, x.shape());
  const float* s = scale.data<float>();
  float* dst = y.data<float>();
  const int64_t n = x.numel();
  return dispatch_dtype<uint8_t, int8_t, int32_t>(x.dtype(), "DequantizeLinear input", [&](auto tag) {
    using Q = decltype(tag);
    const Q* src = x.data<Q>();
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) {
      const int64_t p = layout.at(i);
      dst[i] = static_cast<float>(static_cast<int32_t>(src[i]) - static_cast<int32_t>(zps[p])) * s[p];
    }
    ctx.outputs.push_back(std::move(y));
  });
}

}  // namespace kiln::cpu::ops
