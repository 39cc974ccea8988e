// Slice with starts/ends/axes/steps inputs (opset 10+): negative indices count from the
// end, out-of-range values clamp, negative steps walk backwards.
#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"
#include "ir/slice_axis.h"

namespace kiln::cpu::ops {
namespace {

std::vector<int64_t> optional_ints(const KernelContext& ctx, size_t i) {
  return ctx.inputs.size() > i && ctx.inputs[i] ? ctx.inputs[i]->as_int64() : std::vector<int64_t>{};
}

}  // namespace

Status slice(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 3, 5));
  const ir::Tensor& x = *ctx.inputs[0];
  const int64_t rank = static_cast<int64_t>(x.rank());
  const std::vector<int64_t> starts = ctx.inputs[1]->as_int64();
  const std::vector<int64_t> ends = ctx.inputs[2]->as_int64();
  std::vector<int64_t> axes = optional_ints(ctx, 3);
  std::vector<int64_t> steps = optional_ints(ctx, 4);
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return error(StatusCode::kInvalidArgument, "starts, ends, axes and steps differ in length");

  const std::vector<int64_t> in_strides = strides_of(x.shape());
  std::vector<int64_t> out_shape = x.shape();
  std::vector<int64_t> strides = in_strides;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  int64_t base = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(axes[i], rank));
    if (seen[axis]) return error(StatusCode::kInvalidArgument, "axis ", axis, " repeats");
    seen[axis] = true;
    const int64_t dim = x.shape()[axis];
    const int64_t step = steps[i];
    if (step == 0) return error(StatusCode::kInvalidArgument, "step is 0 on axis ", axis);
    const ir::SliceAxis range = ir::resolve_slice_axis(dim, starts[i], ends[i], step);
    const int64_t start = range.start, count = range.count;
    out_shape[axis] = count;
    strides[axis] = in_strides[axis] * step;
    if (count > 0) base += start * in_strides[axis];
  }
  ctx.outputs.push_back(gather_strided(x, out_shape, strides, base));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
