// Helpers shared by the CPU kernels: input access, axis handling, numpy broadcasting,
// dtype dispatch. Kept small: each kernel file stays readable on its own.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/kernel.h"
#include "ir/dtype.h"
#include "ir/tensor.h"
#include "kiln/status.h"

namespace kiln::cpu {

// Fails unless inputs [0, required) are present and at most `max_inputs` are given.
Status require_inputs(const KernelContext& ctx, size_t required, size_t max_inputs);
// Fails unless input i has one of the listed dtypes.
Status require_dtype(const KernelContext& ctx, size_t i, std::initializer_list<ir::DType> allowed);
// Fails unless every given input (optional ones may be absent) is float32.
Status require_float32_inputs(const KernelContext& ctx);

// Maps a possibly negative axis into [0, rank); fails when out of range.
Result<int64_t> normalize_axis(int64_t axis, int64_t rank);

// Row-major element strides of `shape`.
std::vector<int64_t> strides_of(const std::vector<int64_t>& shape);

// numpy broadcast of two shapes; fails naming both when incompatible.
Result<std::vector<int64_t>> broadcast_shapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

// Strides of `shape` when read as a tensor of `out_shape` under numpy broadcasting:
// right-aligned, 0 for broadcast dims. Result has out_shape.size() entries.
std::vector<int64_t> broadcast_strides(const std::vector<int64_t>& shape, const std::vector<int64_t>& out_shape);

// Copies `src` broadcast to `out_shape` (any dtype).
ir::Tensor broadcast_to(const ir::Tensor& src, const std::vector<int64_t>& out_shape);

// Walks every index of `shape` in row-major order, calling fn(flat_out_index, offset)
// where offset = sum(index[d] * strides[d]). For gather-like kernels (slice, transpose).
template <typename Fn>
void for_each_offset(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, Fn&& fn) {
  const size_t rank = shape.size();
  const int64_t n = ir::shape_numel(shape);
  if (n == 0) return;
  std::vector<int64_t> idx(rank, 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    fn(i, offset);
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < shape[d]) {
        offset += strides[d];
        break;
      }
      offset -= (shape[d] - 1) * strides[d];
      idx[d] = 0;
    }
  }
}

// Byte-wise gather: out[i] = src[offset(i)], for any dtype.
ir::Tensor gather_strided(const ir::Tensor& src, const std::vector<int64_t>& out_shape,
                          const std::vector<int64_t>& strides, int64_t base_offset);

// Calls fn(T{}) with T the C++ type of `dt` for the numeric types listed in the template;
// returns Unsupported for other dtypes.
template <typename... Ts, typename Fn>
Status dispatch_dtype(ir::DType dt, const char* what, Fn&& fn) {
  bool done = false;
  ((done = done || (dt == ir::dtype_of<Ts>() ? (fn(Ts{}), true) : false)), ...);
  if (!done) return error(StatusCode::kUnsupported, what, ": dtype ", ir::dtype_name(dt), " not supported");
  return Status::Ok();
}

}  // namespace kiln::cpu
