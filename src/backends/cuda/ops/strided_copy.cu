// The one data-movement kernel: copy with arbitrary strides on both sides and dtype
// conversion. Layout changes, Transpose, Slice, Split, Concat and graph I/O all use it.
#include <algorithm>
#include <numeric>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"

namespace kiln::cuda {
namespace {

struct CopyParams {
  int rank;
  int64_t dims[kMaxRank];
  int64_t in_strides[kMaxRank];
  int64_t out_strides[kMaxRank];
  int64_t numel;
};

template <typename Tin, typename Tout>
__global__ void strided_copy_kernel(const Tin* __restrict__ in, Tout* __restrict__ out, CopyParams p) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < p.numel; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rem = i, src = 0, dst = 0;
    for (int d = p.rank - 1; d >= 0; --d) {
      const int64_t idx = rem % p.dims[d];
      rem /= p.dims[d];
      src += idx * p.in_strides[d];
      dst += idx * p.out_strides[d];
    }
    out[dst] = from_float<Tout>(to_float(in[src]));
  }
}

}  // namespace

Status launch_strided_copy(const void* in, ir::DType in_type, void* out, ir::DType out_type,
                           const std::vector<int64_t>& dims, const std::vector<int64_t>& in_strides,
                           const std::vector<int64_t>& out_strides, cudaStream_t stream) {
  if (dims.size() > static_cast<size_t>(kMaxRank) || dims.size() != in_strides.size() ||
      dims.size() != out_strides.size())
    return error(StatusCode::kInternal, "strided_copy: bad rank ", dims.size());
  // Iterate in the output's memory order (largest stride outermost) so writes coalesce.
  std::vector<int> order(dims.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return out_strides[a] > out_strides[b]; });
  CopyParams p{};
  p.rank = static_cast<int>(dims.size());
  p.numel = 1;
  for (int d = 0; d < p.rank; ++d) {
    p.dims[d] = dims[order[d]];
    p.in_strides[d] = in_strides[order[d]];
    p.out_strides[d] = out_strides[order[d]];
    p.numel *= p.dims[d];
  }
  if (p.numel == 0) return Status::Ok();
  if (p.rank == 0) {  // scalar
    p.rank = 1;
    p.dims[0] = 1;
    p.in_strides[0] = p.out_strides[0] = 0;
  }
  bool ok = dispatch_float(in_type, [&](auto tin) {
    using Tin = decltype(tin);
    dispatch_float(out_type, [&](auto tout) {
      using Tout = decltype(tout);
      strided_copy_kernel<Tin, Tout><<<grid_for(p.numel), kThreads, 0, stream>>>(
          static_cast<const Tin*>(in), static_cast<Tout*>(out), p);
    });
  });
  if (!ok || (out_type != ir::DType::kFloat32 && out_type != ir::DType::kFloat16))
    return error(StatusCode::kUnsupported, "strided_copy: dtype ", ir::dtype_name(in_type), " -> ",
                 ir::dtype_name(out_type));
  return launch_status("strided_copy");
}

}  // namespace kiln::cuda
