// Gather along one axis with int32/int64 indices (negative indices count from the end).
#include <cstring>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status gather(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 2, 2));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 1, {ir::DType::kInt64, ir::DType::kInt32}));
  const ir::Tensor& data = *ctx.inputs[0];
  const ir::Tensor& indices = *ctx.inputs[1];
  const int64_t rank = static_cast<int64_t>(data.rank());
  if (rank == 0) return error(StatusCode::kInvalidArgument, "data must have rank >= 1");
  KILN_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(ctx.node.attr_int("axis", 0), rank));

  const std::vector<int64_t>& ds = data.shape();
  std::vector<int64_t> out_shape(ds.begin(), ds.begin() + axis);
  out_shape.insert(out_shape.end(), indices.shape().begin(), indices.shape().end());
  out_shape.insert(out_shape.end(), ds.begin() + axis + 1, ds.end());

  const int64_t axis_dim = ds[axis];
  std::vector<int64_t> idx = indices.as_int64();
  for (int64_t& i : idx) {
    if (i < -axis_dim || i >= axis_dim)
      return error(StatusCode::kInvalidArgument, "index ", i, " out of range for axis of size ", axis_dim);
    if (i < 0) i += axis_dim;
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= ds[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= ds[d];
  const size_t row_bytes = static_cast<size_t>(inner) * ir::dtype_size(data.dtype());

  ir::Tensor out(data.dtype(), out_shape);
  const uint8_t* src = data.raw();
  uint8_t* dst = out.raw();
  const int64_t n_idx = static_cast<int64_t>(idx.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n_idx; ++j)
      std::memcpy(dst + (o * n_idx + j) * row_bytes, src + (o * axis_dim + idx[j]) * row_bytes, row_bytes);
  ctx.outputs.push_back(std::move(out));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
