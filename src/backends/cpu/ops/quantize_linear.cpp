// QuantizeLinear, per tensor or per axis, to uint8 (default) or int8.
#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"
#include "backends/cpu/ops/quantize_util.h"

namespace kiln::cpu::ops {
Status quantize_linear(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 2, 3));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 0, {ir::DType::kFloat32}));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 1, {ir::DType::kFloat32}));
  const ir::Tensor& x = *ctx.inputs[0];
  const ir::Tensor& scale = *ctx.inputs[1];
  const ir::Tensor* zp = ctx.inputs.size() > 2 ? ctx.inputs[2] : nullptr;
  KILN_ASSIGN_OR_RETURN(const QuantParamLayout layout, quant_param_layout(ctx.node, x, scale, zp));
  const ir::DType out_dtype = zp ? zp->dtype() : ir::DType::kUInt8;
  const std::vector<int64_t> zps = zp ? zp->as_int64() : std::vector<int64_t>(scale.numel(), 0);
  ir::Tensor y(out_dtype, x.shape());
  const float* src = x.data<float>();
  const float* s = scale.data<float>();
  const int64_t n = x.numel();
  const Status st = dispatch_dtype<uint8_t, int8_t>(out_dtype, "QuantizeLinear output", [&](auto tag) {
    using Q = decltype(tag);
    Q* dst = y.data<Q>();
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) {
      const int64_t p = layout.at(i);
      dst[i] = quantize_value<Q>(src[i], s[p], static_cast<int32_t>(zps[p]));
    }
  });
  KILN_RETURN_IF_ERROR(st);
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
