// DynamicQuantizeLinear (uint8), as ONNX Runtime computes it:
//   scale = (max(0, max x) - min(0, min x)) / 255
//   zero_point = round_half_even(clamp(0 - min / scale, 0, 255))
//   y = saturate(round_half_even(x / scale) + zero_point)
#include <algorithm>
#include <cmath>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"
#include "backends/cpu/ops/quantize_util.h"

namespace kiln::cpu::ops {

Status dynamic_quantize_linear(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 1));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 0, {ir::DType::kFloat32}));
  const ir::Tensor& x = *ctx.inputs[0];
  const float* src = x.data<float>();
  const int64_t n = x.numel();
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, src[i]);
    hi = std::max(hi, src[i]);
  }
  const float scale = (hi - lo) / 255.0f;
  // An all-zero input gives scale 0; quantize everything to zero point 0 then.
  const float initial_zp = scale == 0.0f ? 0.0f : 0.0f - lo / scale;
  const auto zp = static_cast<int32_t>(std::nearbyint(std::clamp(initial_zp, 0.0f, 255.0f)));
  ir::Tensor y(ir::DType::kUInt8, x.shape());
  uint8_t* dst = y.data<uint8_t>();
  if (scale == 0.0f) {
    std::fill(dst, dst + n, static_cast<uint8_t>(zp));
  } else {
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) dst[i] = quantize_value<uint8_t>(src[i], scale, zp);
  }
  ctx.outputs.push_back(std::move(y));
  ctx.outputs.push_back(ir::Tensor::scalar<float>(scale));
  ctx.outputs.push_back(ir::Tensor::scalar<uint8_t>(static_cast<uint8_t>(zp)));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
