// GlobalAveragePool: mean over every dim after N and C.
#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status global_average_pool(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 1));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 0, {ir::DType::kFloat32}));
  const ir::Tensor& x = *ctx.inputs[0];
  if (x.rank() < 3) return error(StatusCode::kInvalidArgument, "input must have rank >= 3");
  std::vector<int64_t> shape = {x.dim(0), x.dim(1)};
  shape.resize(x.rank(), 1);
  ir::Tensor y(ir::DType::kFloat32, shape);
  const int64_t nc = x.dim(0) * x.dim(1);
  const int64_t plane = nc == 0 ? 0 : x.numel() / nc;
#pragma omp parallel for if (x.numel() > (1 << 16))
  for (int64_t p = 0; p < nc; ++p) {
    const float* src = x.data<float>() + p * plane;
    double sum = 0.0;
    for (int64_t i = 0; i < plane; ++i) sum += src[i];
    y.data<float>()[p] = static_cast<float>(sum / static_cast<double>(plane));
  }
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
