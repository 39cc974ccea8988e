// Softmax along one axis (opset 13 semantics), max-subtracted for stability.
#include <cmath>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status softmax(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 1));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 0, {ir::DType::kFloat32}));
  const ir::Tensor& x = *ctx.inputs[0];
  const int64_t rank = static_cast<int64_t>(x.rank());
  KILN_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(ctx.node.attr_int("axis", -1), rank));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int64_t d = axis + 1; d < rank; ++d) inner *= x.dim(d);
  const int64_t len = rank == 0 ? 1 : x.dim(axis);
  ir::Tensor y(ir::DType::kFloat32, x.shape());
  if (x.numel() == 0) {
    ctx.outputs.push_back(std::move(y));
    return Status::Ok();
  }
#pragma omp parallel for if (x.numel() > (1 << 16))
  for (int64_t o = 0; o < outer * inner; ++o) {
    const int64_t base = (o / inner) * len * inner + o % inner;
    const float* src = x.data<float>() + base;
    float* dst = y.data<float>() + base;
    float mx = src[0];
    for (int64_t i = 1; i < len; ++i) mx = std::max(mx, src[i * inner]);
    float sum = 0.0f;
    for (int64_t i = 0; i < len; ++i) sum += (dst[i * inner] = std::exp(src[i * inner] - mx));
    for (int64_t i = 0; i < len; ++i) dst[i * inner] /= sum;
  }
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
