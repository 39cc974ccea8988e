// Concat along one axis, any dtype.
#include <cstring>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status concat(KernelContext& ctx) {
  if (ctx.inputs.empty()) return error(StatusCode::kInvalidArgument, "needs at least one input");
  for (size_t i = 0; i < ctx.inputs.size(); ++i)
    if (!ctx.inputs[i]) return error(StatusCode::kInvalidArgument, "input ", i, " is missing");
  const ir::Tensor& first = *ctx.inputs[0];
  const int64_t rank = static_cast<int64_t>(first.rank());
  KILN_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(ctx.node.attr_int("axis", 0), rank));

  std::vector<int64_t> out_shape = first.shape();
  out_shape[axis] = 0;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    const ir::Tensor& t = *ctx.inputs[i];
    if (t.dtype() != first.dtype() || static_cast<int64_t>(t.rank()) != rank)
      return error(StatusCode::kInvalidArgument, "input ", i, " dtype or rank differs from input 0");
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && t.shape()[d] != first.shape()[d])
        return error(StatusCode::kInvalidArgument, "input ", i, " shape ", ir::shape_to_string(t.shape()),
                     " does not match ", ir::shape_to_string(first.shape()), " off axis ", axis);
    out_shape[axis] += t.shape()[axis];
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out_shape[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= out_shape[d];
  const size_t es = ir::dtype_size(first.dtype());
  const size_t out_row = static_cast<size_t>(out_shape[axis] * inner) * es;

  ir::Tensor out(first.dtype(), out_shape);
  size_t column = 0;  // byte offset of the current input inside one output row
  for (const ir::Tensor* t : ctx.inputs) {
    const size_t row = static_cast<size_t>(t->shape()[axis] * inner) * es;
#pragma omp parallel for if (outer * static_cast<int64_t>(row) > (1 << 20))
    for (int64_t o = 0; o < outer; ++o) std::memcpy(out.raw() + o * out_row + column, t->raw() + o * row, row);
    column += row;
  }
  ctx.outputs.push_back(std::move(out));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
