// Slice (ONNX opset >= 10: starts/ends/axes/steps as constant inputs): a strided copy.
#include <algorithm>

#include "backends/cuda/ops/shape_util.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {

Status plan_slice(PlanBuilder& b, const ir::Node& node) {
  KILN_ASSIGN_OR_RETURN(int in, b.input_any_layout(node, 0));
  const Slot src = b.slot(in);
  const int64_t rank = static_cast<int64_t>(src.dims.size());
  std::vector<std::vector<int64_t>> args(4);
  for (size_t i = 1; i < 5; ++i) {
    if (!node.input(i)) continue;
    const ir::Tensor* t = b.constant_input(node, i);
    if (!t) return error(StatusCode::kUnsupported, "slice input ", i, " must be constant");
    args[i - 1] = t->as_int64();
  }
  const auto& starts = args[0];
  const auto& ends = args[1];
  std::vector<int64_t> axes = args[2];
  std::vector<int64_t> steps = args[3];
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return error(StatusCode::kInvalidArgument, "starts/ends/axes/steps differ in length");
  std::vector<int64_t> begin(rank, 0), step(rank, 1), dims = src.dims;
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t a = normalize_axis(axes[i], rank);
    if (a < 0 || steps[i] == 0) return error(StatusCode::kInvalidArgument, "bad axis or step");
    const int64_t n = src.dims[a];
    int64_t s = starts[i] < 0 ? starts[i] + n : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + n : ends[i];
    if (steps[i] > 0) {
      s = std::clamp<int64_t>(s, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      dims[a] = e > s ? (e - s + steps[i] - 1) / steps[i] : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
      dims[a] = s > e ? (s - e - steps[i] - 1) / -steps[i] : 0;
    }
    begin[a] = s;
    step[a] = steps[i];
  }
  const std::vector<int64_t> st = src.logical_strides();
  std::vector<int64_t> src_strides(rank);
  int64_t offset = 0;
  for (int64_t d = 0; d < rank; ++d) {
    offset += begin[d] * st[d];
    src_strides[d] = st[d] * step[d];
  }
  const int out = b.define(node.outputs[0], dims, rank == 4 ? src.layout : Layout::kLinear);
  b.add_step(make_copy_step(node.name, in, out, dims, src_strides, offset, b.slot(out).logical_strides(), 0,
                            src.dtype, b.slot(out).dtype));
  return Status::Ok();
}

}  // namespace kiln::cuda
