#include "backends/cpu/ops/quantize_util.h"

namespace kiln::cpu {

Result<QuantParamLayout> quant_param_layout(const ir::Node& node, const ir::Tensor& x, const ir::Tensor& scale,
                                            const ir::Tensor* zero_point) {
  if (zero_point && zero_point->numel() != scale.numel())
    return error(StatusCode::kInvalidArgument, "zero point and scale differ in size");
  QuantParamLayout layout;
  layout.count = scale.numel();
  if (layout.count == 1) return layout;
  if (scale.rank() != 1) return error(StatusCode::kUnsupported, "blocked quantization is not supported");
  KILN_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(node.attr_int("axis", 1), static_cast<int64_t>(x.rank())));
  if (x.dim(axis) != layout.count)
    return error(StatusCode::kInvalidArgument, "scale has ", layout.count, " values for axis of size ", x.dim(axis));
  for (size_t d = axis + 1; d < x.rank(); ++d) layout.inner *= x.dim(d);
  return layout;
}

}  // namespace kiln::cpu
