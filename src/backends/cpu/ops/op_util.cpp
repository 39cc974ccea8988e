#include "backends/cpu/ops/op_util.h"

#include <algorithm>
#include <cstring>

namespace kiln::cpu {

Status require_inputs(const KernelContext& ctx, size_t required, size_t max_inputs) {
  if (ctx.inputs.size() < required || ctx.inputs.size() > max_inputs)
    return error(StatusCode::kInvalidArgument, "expected ", required, "..", max_inputs, " inputs, got ",
                 ctx.inputs.size());
  for (size_t i = 0; i < required; ++i)
    if (!ctx.inputs[i]) return error(StatusCode::kInvalidArgument, "required input ", i, " is missing");
  return Status::Ok();
}

Status require_dtype(const KernelContext& ctx, size_t i, std::initializer_list<ir::DType> allowed) {
  const ir::DType dt = ctx.inputs[i]->dtype();
  if (std::find(allowed.begin(), allowed.end(), dt) != allowed.end()) return Status::Ok();
  return error(StatusCode::kUnsupported, "input ", i, " has unsupported dtype ", ir::dtype_name(dt));
}

Status require_float32_inputs(const KernelContext& ctx) {
  for (size_t i = 0; i < ctx.inputs.size(); ++i)
    if (ctx.inputs[i]) KILN_RETURN_IF_ERROR(require_dtype(ctx, i, {ir::DType::kFloat32}));
  return Status::Ok();
}

Result<int64_t> normalize_axis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return error(StatusCode::kInvalidArgument, "axis ", axis, " out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> strides_of(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
  return s;
}

Result<std::vector<int64_t>> broadcast_shapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return error(StatusCode::kInvalidArgument, "cannot broadcast ", ir::shape_to_string(a), " with ",
                   ir::shape_to_string(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const std::vector<int64_t>& shape, const std::vector<int64_t>& out_shape) {
  const size_t rank = out_shape.size();
  const size_t lead = rank - shape.size();
  std::vector<int64_t> own = strides_of(shape);
  std::vector<int64_t> s(rank, 0);
  for (size_t i = lead; i < rank; ++i) s[i] = shape[i - lead] == 1 ? 0 : own[i - lead];
  return s;
}

ir::Tensor gather_strided(const ir::Tensor& src, const std::vector<int64_t>& out_shape,
                          const std::vector<int64_t>& strides, int64_t base_offset) {
  ir::Tensor out(src.dtype(), out_shape);
  const size_t es = ir::dtype_size(src.dtype());
  const uint8_t* in = src.raw();
  uint8_t* o = out.raw();
  if (out.numel() == 0) return out;
  // Copy whole innermost rows at once when they are contiguous in the source.
  const size_t rank = out_shape.size();
  if (rank > 0 && strides[rank - 1] == 1) {
    const int64_t row = out_shape[rank - 1];
    std::vector<int64_t> outer_shape(out_shape.begin(), out_shape.end() - 1);
    std::vector<int64_t> outer_strides(strides.begin(), strides.end() - 1);
    for_each_offset(outer_shape, outer_strides, [&](int64_t i, int64_t off) {
      std::memcpy(o + i * row * es, in + (base_offset + off) * es, row * es);
    });
    return out;
  }
  for_each_offset(out_shape, strides, [&](int64_t i, int64_t off) {
    std::memcpy(o + i * es, in + (base_offset + off) * es, es);
  });
  return out;
}

ir::Tensor broadcast_to(const ir::Tensor& src, const std::vector<int64_t>& out_shape) {
  return gather_strided(src, out_shape, broadcast_strides(src.shape(), out_shape), 0);
}

}  // namespace kiln::cpu
