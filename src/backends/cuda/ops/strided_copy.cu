// The one data-movement kernel: copy with arbitrary strides on both sides and dtype
// conversion between float types (int8 copied as it is). Layout changes, Transpose, Slice, Split, Concat and graph I/O all use it.
#include <algorithm>
#include <numeric>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
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

// Source and destination offsets of the i-th element (row-major over p.dims).
template <typename Index>
__device__ __forceinline__ void element_offsets(const CopyParams& p, Index i, Index& src, Index& dst) {
  Index rem = i;
  src = 0, dst = 0;
  for (int d = p.rank - 1; d >= 0; --d) {
    const Index dim = static_cast<Index>(p.dims[d]);
    const Index idx = rem % dim;
    rem /= dim;
    src += idx * static_cast<Index>(p.in_strides[d]);
    dst += idx * static_cast<Index>(p.out_strides[d]);
  }
}

template <typename Index, typename Tin, typename Tout>
__global__ void strided_copy_kernel(const Tin* __restrict__ in, Tout* __restrict__ out, CopyParams p) {
  begin_kernel();
  const Index n = static_cast<Index>(p.numel);
  for (Index i = blockIdx.x * Index(blockDim.x) + threadIdx.x; i < n; i += Index(gridDim.x) * blockDim.x) {
    Index src, dst;
    element_offsets(p, i, src, dst);
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
  begin_kernel();
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

// A copy's dims in the output's memory order (largest stride outermost, so writes
// coalesce), without size-1 dims, with dims contiguous on both sides merged (fewer
// div/mods per element).
struct Merged {
  std::vector<int64_t> dims, in, out;
  bool empty = false;  // no elements
};

Merged merge_dims(const std::vector<int64_t>& dims, const std::vector<int64_t>& in_strides,
                  const std::vector<int64_t>& out_strides) {
  Merged m;
  std::vector<int> order;
  int64_t numel = 1;
  for (size_t d = 0; d < dims.size(); ++d) {
    numel *= dims[d];
    if (dims[d] != 1) order.push_back(static_cast<int>(d));
  }
  m.empty = numel == 0;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return out_strides[a] > out_strides[b]; });
  for (int d : order) {
    if (!m.dims.empty() && m.in.back() == in_strides[d] * dims[d] && m.out.back() == out_strides[d] * dims[d]) {
      m.dims.back() *= dims[d];
      m.in.back() = in_strides[d];
      m.out.back() = out_strides[d];
      continue;
    }
    m.dims.push_back(dims[d]);
    m.in.push_back(in_strides[d]);
    m.out.push_back(out_strides[d]);
  }
  if (m.dims.empty()) {  // a single element
    m.dims = {1};
    m.in = {0};
    m.out = {0};
  }
  return m;
}

// Unit inner stride on both sides and 16-byte aligned rows and pointers: the copy can move
// 16-byte words (same dtype on both sides, checked by the caller).
bool vectorizable(const Merged& m, const void* in, const void* out, size_t es) {
  const size_t inner_bytes = static_cast<size_t>(m.dims.back()) * es;
  bool vec = m.in.back() == 1 && m.out.back() == 1 && inner_bytes % 16 == 0 &&
             reinterpret_cast<uintptr_t>(in) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0;
  for (size_t d = 0; vec && d + 1 < m.dims.size(); ++d)
    vec = (static_cast<size_t>(m.in[d]) * es) % 16 == 0 && (static_cast<size_t>(m.out[d]) * es) % 16 == 0;
  return vec;
}

// Kernel parameters; `words` elements per unit (16 / element size for the 16-byte path).
CopyParams to_params(const Merged& m, int64_t words) {
  CopyParams p{};
  p.rank = static_cast<int>(m.dims.size());
  p.numel = 1;
  for (int d = 0; d < p.rank; ++d) {
    const bool inner = d == p.rank - 1;
    p.dims[d] = inner ? m.dims[d] / words : m.dims[d];
    p.in_strides[d] = inner ? m.in[d] : m.in[d] / words;
    p.out_strides[d] = inner ? m.out[d] : m.out[d] / words;
    p.numel *= p.dims[d];
  }
  return p;
}

bool needs_64bit(const CopyParams& p) {
  int64_t span_in = 0, span_out = 0;
  for (int d = 0; d < p.rank; ++d) {
    span_in += (p.dims[d] - 1) * p.in_strides[d];
    span_out += (p.dims[d] - 1) * p.out_strides[d];
  }
  const int64_t limit = int64_t(1) << 31;
  return p.numel >= limit || span_in >= limit || span_out >= limit;
}

// Several same-dtype copies in one launch (grid y picks the copy): a Concat or Split is
// one kernel, not one per operand.
constexpr int kMaxGroup = 8;
struct CopyGroup {
  CopyParams p[kMaxGroup];
  const void* in[kMaxGroup];
  void* out[kMaxGroup];
};

template <typename Index, typename T>
__global__ void grouped_copy_kernel(CopyGroup g) {
  begin_kernel();
  const CopyParams& p = g.p[blockIdx.y];
  const T* __restrict__ in = static_cast<const T*>(g.in[blockIdx.y]);
  T* __restrict__ out = static_cast<T*>(g.out[blockIdx.y]);
  const Index n = static_cast<Index>(p.numel);
  for (Index i = blockIdx.x * Index(blockDim.x) + threadIdx.x; i < n; i += Index(gridDim.x) * blockDim.x) {
    Index src, dst;
    element_offsets(p, i, src, dst);
    out[dst] = in[src];
  }
}

template <typename T>
void launch_group(const CopyGroup& g, int count, bool wide, int64_t max_numel, cudaStream_t stream) {
  const dim3 grid(grid_for(max_numel), static_cast<unsigned>(count));
  if (wide)
    launch_kernel(grouped_copy_kernel<int64_t, T>, grid, kThreads, 0, stream, g);
  else
    launch_kernel(grouped_copy_kernel<uint32_t, T>, grid, kThreads, 0, stream, g);
}

template <typename Tin, typename Tout>
void launch_typed(const void* in, void* out, const CopyParams& p, cudaStream_t stream) {
  // 32-bit index arithmetic when every offset fits: the div/mod per dim is most of the cost.
  if (!needs_64bit(p))
    launch_kernel(strided_copy_kernel<uint32_t, Tin, Tout>, grid_for(p.numel), kThreads, 0, stream,
                  static_cast<const Tin*>(in), static_cast<Tout*>(out), p);
  else
    launch_kernel(strided_copy_kernel<int64_t, Tin, Tout>, grid_for(p.numel), kThreads, 0, stream,
                  static_cast<const Tin*>(in), static_cast<Tout*>(out), p);
}

}  // namespace

Status launch_strided_copy(const void* in, ir::DType in_type, void* out, ir::DType out_type,
                           const std::vector<int64_t>& dims, const std::vector<int64_t>& in_strides,
                           const std::vector<int64_t>& out_strides, cudaStream_t stream) {
  if (dims.size() > static_cast<size_t>(kMaxRank) || dims.size() != in_strides.size() ||
      dims.size() != out_strides.size())
    return error(StatusCode::kInternal, "strided_copy: bad rank ", dims.size());
  // int8 tensors (INT8 engines) are re-laid out, never converted.
  const bool int8 = in_type == ir::DType::kInt8 && out_type == ir::DType::kInt8;
  if (!int8 && ((in_type != ir::DType::kFloat32 && in_type != ir::DType::kFloat16) ||
                (out_type != ir::DType::kFloat32 && out_type != ir::DType::kFloat16)))
    return error(StatusCode::kUnsupported, "strided_copy: dtype ", ir::dtype_name(in_type), " -> ",
                 ir::dtype_name(out_type));
  Merged m = merge_dims(dims, in_strides, out_strides);
  if (m.empty) return Status::Ok();
  const std::vector<int64_t>&dd = m.dims, &is = m.in, &os = m.out;
  const size_t es = ir::dtype_size(in_type);
  const bool vec = in_type == out_type && vectorizable(m, in, out, es);
  const CopyParams p = to_params(m, vec ? static_cast<int64_t>(16 / es) : 1);
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
  if (int8) {
    launch_typed<int8_t, int8_t>(in, out, p, stream);
    return launch_status("strided_copy");
  }
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
          launch_kernel(transpose_kernel<Tin, Tout>, grid, dim3(kTile, 8), 0, stream, static_cast<const Tin*>(in),
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

Status launch_strided_copies(const std::vector<CopyDesc>& copies, ir::DType type, cudaStream_t stream) {
  if (type != ir::DType::kFloat32 && type != ir::DType::kFloat16)
    return error(StatusCode::kUnsupported, "strided_copy: dtype ", ir::dtype_name(type));
  const size_t es = ir::dtype_size(type);
  for (size_t first = 0; first < copies.size(); first += kMaxGroup) {
    const size_t count = std::min<size_t>(kMaxGroup, copies.size() - first);
    std::vector<Merged> merged;
    bool vec = true;
    for (size_t i = first; i < first + count; ++i) {
      const CopyDesc& c = copies[i];
      if (c.dims.size() > static_cast<size_t>(kMaxRank) || c.dims.size() != c.in_strides.size() ||
          c.dims.size() != c.out_strides.size())
        return error(StatusCode::kInternal, "strided_copy: bad rank ", c.dims.size());
      merged.push_back(merge_dims(c.dims, c.in_strides, c.out_strides));
      vec = vec && vectorizable(merged.back(), c.in, c.out, es);
    }
    CopyGroup g{};
    int n = 0;
    bool wide = false;
    int64_t max_numel = 0;
    for (size_t i = 0; i < count; ++i) {
      if (merged[i].empty) continue;
      g.p[n] = to_params(merged[i], vec ? static_cast<int64_t>(16 / es) : 1);
      g.in[n] = copies[first + i].in;
      g.out[n] = copies[first + i].out;
      wide = wide || needs_64bit(g.p[n]);
      max_numel = std::max(max_numel, g.p[n].numel);
      ++n;
    }
    if (n == 0) continue;
    if (vec) launch_group<uint4>(g, n, wide, max_numel, stream);
    else if (es == 2) launch_group<__half>(g, n, wide, max_numel, stream);
    else launch_group<float>(g, n, wide, max_numel, stream);
    KILN_RETURN_IF_ERROR(launch_status("strided_copy (grouped)"));
  }
  return Status::Ok();
}

}  // namespace kiln::cuda
