// The one data-movement kernel: copy with arbitrary strides on both sides and dtype
// conversion. Layout changes, Transpose, Slice, Split, Concat and graph I/O all use it.
#include <algorithm>
#include <numeric>
#include <type_traits>

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

template <typename Index, typename Tin, typename Tout>
__global__ void strided_copy_kernel(const Tin* __restrict__ in, Tout* __restrict__ out, CopyParams p) {
  const Index n = static_cast<Index>(p.numel);
  for (Index i = blockIdx.x * Index(blockDim.x) + threadIdx.x; i < n; i += Index(gridDim.x) * blockDim.x) {
    Index rem = i, src = 0, dst = 0;
    for (int d = p.rank - 1; d >= 0; --d) {
      const Index dim = static_cast<Index>(p.dims[d]);
      const Index idx = rem % dim;
      rem /= dim;
      src += idx * static_cast<Index>(p.in_strides[d]);
      dst += idx * static_cast<Index>(p.out_strides[d]);
    }
    if constexpr (std::is_same_v<Tin, Tout>) out[dst] = in[src];
    else out[dst] = from_float<Tout>(to_float(in[src]));
  }
}

// Batched 2-D transpose through shared memory, for copies whose output-contiguous dim is
// strided in the input (NCHW <-> NHWC): both the reads and the writes coalesce.
struct TransposeParams {
  int64_t a, b;                 // a: contiguous in the output; b: contiguous in the input
  int64_t in_a, out_b;          // stride of a in the input, of b in the output
  int nbatch;                   // other dims, outermost first
  int64_t bdims[kMaxRank], bin[kMaxRank], bout[kMaxRank];
};

constexpr int kTile = 32;

template <typename Tin, typename Tout>
__global__ void transpose_kernel(const Tin* __restrict__ in, Tout* __restrict__ out, TransposeParams p) {
  __shared__ float tile[kTile][kTile + 1];
  int64_t z = blockIdx.z, base_in = 0, base_out = 0;
  for (int d = p.nbatch - 1; d >= 0; --d) {
    const int64_t idx = z % p.bdims[d];
    z /= p.bdims[d];
    base_in += idx * p.bin[d];
    base_out += idx * p.bout[d];
  }
  const int64_t a0 = int64_t(blockIdx.x) * kTile, b0 = int64_t(blockIdx.y) * kTile;
  for (int k = threadIdx.y; k < kTile; k += blockDim.y) {
    const int64_t a = a0 + k, b = b0 + threadIdx.x;
    if (a < p.a && b < p.b) tile[k][threadIdx.x] = to_float(in[base_in + a * p.in_a + b]);
  }
  __syncthreads();
  for (int k = threadIdx.y; k < kTile; k += blockDim.y) {
    const int64_t b = b0 + k, a = a0 + threadIdx.x;
    if (a < p.a && b < p.b) out[base_out + b * p.out_b + a] = from_float<Tout>(tile[threadIdx.x][k]);
  }
}

template <typename Tin, typename Tout>
void launch_typed(const void* in, void* out, const CopyParams& p, cudaStream_t stream) {
  // 32-bit index arithmetic when every offset fits: the div/mod per dim is most of the cost.
  int64_t span_in = 0, span_out = 0;
  for (int d = 0; d < p.rank; ++d) {
    span_in += (p.dims[d] - 1) * p.in_strides[d];
    span_out += (p.dims[d] - 1) * p.out_strides[d];
  }
  const int64_t limit = int64_t(1) << 31;
  if (p.numel < limit && span_in < limit && span_out < limit)
    strided_copy_kernel<uint32_t, Tin, Tout><<<grid_for(p.numel), kThreads, 0, stream>>>(
        static_cast<const Tin*>(in), static_cast<Tout*>(out), p);
  else
    strided_copy_kernel<int64_t, Tin, Tout><<<grid_for(p.numel), kThreads, 0, stream>>>(
        static_cast<const Tin*>(in), static_cast<Tout*>(out), p);
}

}  // namespace

Status launch_strided_copy(const void* in, ir::DType in_type, void* out, ir::DType out_type,
                           const std::vector<int64_t>& dims, const std::vector<int64_t>& in_strides,
                           const std::vector<int64_t>& out_strides, cudaStream_t stream) {
  if (dims.size() > static_cast<size_t>(kMaxRank) || dims.size() != in_strides.size() ||
      dims.size() != out_strides.size())
    return error(StatusCode::kInternal, "strided_copy: bad rank ", dims.size());
  if ((in_type != ir::DType::kFloat32 && in_type != ir::DType::kFloat16) ||
      (out_type != ir::DType::kFloat32 && out_type != ir::DType::kFloat16))
    return error(StatusCode::kUnsupported, "strided_copy: dtype ", ir::dtype_name(in_type), " -> ",
                 ir::dtype_name(out_type));
  // Iterate in the output's memory order (largest stride outermost) so writes coalesce;
  // drop size-1 dims and merge dims that are contiguous on both sides (fewer div/mods).
  std::vector<int> order;
  int64_t numel = 1;
  for (size_t d = 0; d < dims.size(); ++d) {
    numel *= dims[d];
    if (dims[d] != 1) order.push_back(static_cast<int>(d));
  }
  if (numel == 0) return Status::Ok();
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return out_strides[a] > out_strides[b]; });
  std::vector<int64_t> dd, is, os;
  for (int d : order) {
    if (!dd.empty() && is.back() == in_strides[d] * dims[d] && os.back() == out_strides[d] * dims[d]) {
      dd.back() *= dims[d];
      is.back() = in_strides[d];
      os.back() = out_strides[d];
      continue;
    }
    dd.push_back(dims[d]);
    is.push_back(in_strides[d]);
    os.push_back(out_strides[d]);
  }
  if (dd.empty()) {  // a single element
    dd = {1};
    is = {0};
    os = {0};
  }
  // Same dtype, unit inner stride on both sides, 16-byte aligned rows: copy 16-byte words.
  const size_t es = ir::dtype_size(in_type);
  const size_t inner_bytes = static_cast<size_t>(dd.back()) * es;
  bool vec = in_type == out_type && is.back() == 1 && os.back() == 1 && inner_bytes % 16 == 0 &&
             reinterpret_cast<uintptr_t>(in) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0;
  for (size_t d = 0; vec && d + 1 < dd.size(); ++d)
    vec = (static_cast<size_t>(is[d]) * es) % 16 == 0 && (static_cast<size_t>(os[d]) * es) % 16 == 0;
  CopyParams p{};
  p.rank = static_cast<int>(dd.size());
  p.numel = 1;
  for (int d = 0; d < p.rank; ++d) {
    const bool scale = vec;
    const int64_t words = static_cast<int64_t>(16 / es);
    p.dims[d] = scale && d == p.rank - 1 ? dd[d] / words : dd[d];
    p.in_strides[d] = scale && d < p.rank - 1 ? is[d] / words : is[d];
    p.out_strides[d] = scale && d < p.rank - 1 ? os[d] / words : os[d];
    p.numel *= p.dims[d];
  }
  if (vec) {
    launch_typed<uint4, uint4>(in, out, p, stream);
    return launch_status("strided_copy");
  }
  // Output-contiguous dim strided in the input, and some other dim contiguous there: tiled
  // transpose (batch dims in grid z).
  const int last = static_cast<int>(dd.size()) - 1;
  int bdim = -1;
  for (int d = 0; d < last; ++d)
    if (is[d] == 1) bdim = d;
  if (os[last] == 1 && is[last] != 1 && bdim >= 0 && dd[last] >= 8 && dd[bdim] >= 8) {
    TransposeParams t{};
    t.a = dd[last];
    t.b = dd[bdim];
    t.in_a = is[last];
    t.out_b = os[bdim];
    int64_t batch = 1;
    for (int d = 0; d < last; ++d) {
      if (d == bdim) continue;
      t.bdims[t.nbatch] = dd[d];
      t.bin[t.nbatch] = is[d];
      t.bout[t.nbatch] = os[d];
      ++t.nbatch;
      batch *= dd[d];
    }
    if (batch <= 65535 && (t.b + kTile - 1) / kTile <= 65535) {
      const dim3 grid(static_cast<unsigned>((t.a + kTile - 1) / kTile), static_cast<unsigned>((t.b + kTile - 1) / kTile),
                      static_cast<unsigned>(batch));
      dispatch_float(in_type, [&](auto tin) {
        dispatch_float(out_type, [&](auto tout) {
          using Tin = decltype(tin);
          using Tout = decltype(tout);
          transpose_kernel<Tin, Tout><<<grid, dim3(kTile, 8), 0, stream>>>(static_cast<const Tin*>(in),
                                                                          static_cast<Tout*>(out), t);
        });
      });
      return launch_status("strided_copy (transpose)");
    }
  }
  dispatch_float(in_type, [&](auto tin) {
    dispatch_float(out_type, [&](auto tout) { launch_typed<decltype(tin), decltype(tout)>(in, out, p, stream); });
  });
  return launch_status("strided_copy");
}

}  // namespace kiln::cuda
