// Split along one axis: sizes from the optional 2nd input (the importer turns opset<13's
// `split` attribute into it), else `num_outputs` (last chunk smaller when uneven), else
// equal parts, one per output.
#include <cstring>
#include <numeric>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {

Status split(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 2));
  const ir::Tensor& x = *ctx.inputs[0];
  const int64_t rank = static_cast<int64_t>(x.rank());
  KILN_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(ctx.node.attr_int("axis", 0), rank));
  const int64_t dim = x.shape()[axis];
  const int64_t n_out = static_cast<int64_t>(ctx.node.outputs.size());

  std::vector<int64_t> sizes;
  if (ctx.inputs.size() > 1 && ctx.inputs[1]) {
    sizes = ctx.inputs[1]->as_int64();
  } else {
    const int64_t parts = ctx.node.attr_int("num_outputs", n_out);
    if (parts <= 0) return error(StatusCode::kInvalidArgument, "no outputs to split into");
    const int64_t chunk = (dim + parts - 1) / parts;
    if (!ctx.node.has_attr("num_outputs") && dim % parts != 0)
      return error(StatusCode::kInvalidArgument, "axis size ", dim, " does not split evenly into ", parts);
    for (int64_t p = 0, left = dim; p < parts; ++p, left -= chunk) sizes.push_back(std::min(chunk, left));
  }
  if (static_cast<int64_t>(sizes.size()) != n_out)
    return error(StatusCode::kInvalidArgument, sizes.size(), " split sizes for ", n_out, " outputs");
  if (std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) != dim)
    return error(StatusCode::kInvalidArgument, "split sizes do not sum to axis size ", dim);

  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= x.shape()[d];
  const size_t es = ir::dtype_size(x.dtype());
  const size_t in_row = static_cast<size_t>(dim * inner) * es;
  size_t column = 0;
  for (int64_t size : sizes) {
    if (size < 0) return error(StatusCode::kInvalidArgument, "negative split size ", size);
    std::vector<int64_t> shape = x.shape();
    shape[axis] = size;
    ir::Tensor out(x.dtype(), shape);
    const size_t row = static_cast<size_t>(size * inner) * es;
    for (int64_t o = 0; o < outer; ++o) std::memcpy(out.raw() + o * row, x.raw() + o * in_row + column, row);
    column += row;
    ctx.outputs.push_back(std::move(out));
  }
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
