// Gemm: alpha * op(A) op(B) + beta * C, C broadcast to [M,N]; float32 via sgemm.
#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"
#include "backends/cpu/ops/sgemm.h"

namespace kiln::cpu::ops {

Status gemm(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 2, 3));
  KILN_RETURN_IF_ERROR(require_float32_inputs(ctx));
  const ir::Tensor& a = *ctx.inputs[0];
  const ir::Tensor& b = *ctx.inputs[1];
  const ir::Tensor* c = ctx.inputs.size() > 2 ? ctx.inputs[2] : nullptr;
  if (a.rank() != 2 || b.rank() != 2) return error(StatusCode::kInvalidArgument, "A and B must be 2-D");
  const bool ta = ctx.node.attr_int("transA", 0) != 0, tb = ctx.node.attr_int("transB", 0) != 0;
  const float alpha = ctx.node.attr_float("alpha", 1.0f), beta = ctx.node.attr_float("beta", 1.0f);
  const int64_t m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1);
  const int64_t kb = tb ? b.dim(1) : b.dim(0), n = tb ? b.dim(0) : b.dim(1);
  if (k != kb)
    return error(StatusCode::kInvalidArgument, "A ", ir::shape_to_string(a.shape()), " and B ",
                 ir::shape_to_string(b.shape()), " do not multiply");
  ir::Tensor y(ir::DType::kFloat32, {m, n});
  float c_beta = 0.0f;
  if (c && beta != 0.0f) {
    KILN_ASSIGN_OR_RETURN(const std::vector<int64_t> cs, broadcast_shapes(c->shape(), {m, n}));
    if (cs != std::vector<int64_t>{m, n})
      return error(StatusCode::kInvalidArgument, "C ", ir::shape_to_string(c->shape()), " does not broadcast to [", m,
                   ",", n, "]");
    const ir::Tensor cb = broadcast_to(*c, {m, n});
    const float* src = cb.data<float>();
    float* dst = y.data<float>();
    for (int64_t i = 0; i < m * n; ++i) dst[i] = beta * src[i];
    c_beta = 1.0f;
  }
  sgemm(ta, tb, m, n, k, alpha, a.data<float>(), a.dim(1), b.data<float>(), b.dim(1), c_beta, y.data<float>(), n);
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
