// MatMul with numpy semantics: 1-D operands are promoted (and the added dim dropped),
// leading batch dims broadcast; one sgemm per batch entry.
#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"
#include "backends/cpu/ops/sgemm.h"

namespace kiln::cpu::ops {

Status matmul(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 2, 2));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 0, {ir::DType::kFloat32}));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 1, {ir::DType::kFloat32}));
  std::vector<int64_t> as = ctx.inputs[0]->shape(), bs = ctx.inputs[1]->shape();
  if (as.empty() || bs.empty()) return error(StatusCode::kInvalidArgument, "operands must have rank >= 1");
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k)
    return error(StatusCode::kInvalidArgument, "shapes ", ir::shape_to_string(ctx.inputs[0]->shape()), " and ",
                 ir::shape_to_string(ctx.inputs[1]->shape()), " do not multiply");
  const std::vector<int64_t> a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  KILN_ASSIGN_OR_RETURN(const std::vector<int64_t> batch, broadcast_shapes(a_batch, b_batch));
  const std::vector<int64_t> sa = broadcast_strides(a_batch, batch), sb = broadcast_strides(b_batch, batch);

  std::vector<int64_t> out_shape = batch;
  if (!a_vec) out_shape.push_back(m);
  if (!b_vec) out_shape.push_back(n);
  ir::Tensor y(ir::DType::kFloat32, out_shape);
  const float* pa = ctx.inputs[0]->data<float>();
  const float* pb = ctx.inputs[1]->data<float>();
  // Batch strides count whole matrices; an empty batch visits index 0 once.
  for_each_offset(batch, sa, [&](int64_t i, int64_t off_a) {
    int64_t off_b = 0, rem = i;
    for (size_t d = batch.size(); d-- > 0;) {
      off_b += (rem % batch[d]) * sb[d];
      rem /= batch[d];
    }
    sgemm(false, false, m, n, k, 1.0f, pa + off_a * m * k, k, pb + off_b * k * n, n, 0.0f, y.data<float>() + i * m * n, n);
  });
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
