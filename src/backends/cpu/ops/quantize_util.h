// Rounding shared by the quantizing kernels, matching ONNX Runtime's MLAS: divide by the
// scale, round half to even, add the zero point, saturate.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "backends/cpu/ops/op_util.h"

namespace kiln::cpu {

template <typename Q>
Q quantize_value(float x, float scale, int32_t zero_point) {
  const float lo = static_cast<float>(std::numeric_limits<Q>::min()) - static_cast<float>(zero_point);
  const float hi = static_cast<float>(std::numeric_limits<Q>::max()) - static_cast<float>(zero_point);
  const float v = std::clamp(x / scale, lo, hi);
  // std::nearbyint rounds half to even in the default rounding mode.
  return static_cast<Q>(static_cast<int32_t>(std::nearbyint(v)) + zero_point);
}

// Which scale / zero point applies to element i: one for the whole tensor, or one per
// index along `axis` (per-channel).
struct QuantParamLayout {
  int64_t count = 1, inner = 1;
  int64_t at(int64_t i) const { return count == 1 ? 0 : (i / inner) % count; }
};
// Also checks that the zero point (if any) has one value per scale.
Result<QuantParamLayout> quant_param_layout(const ir::Node& node, const ir::Tensor& x, const ir::Tensor& scale,
                                            const ir::Tensor* zero_point);

}  // namespace kiln::cpu
