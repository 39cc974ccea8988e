// Direct convolution reading the graph's FP32 NCHW input as it is, for the stem conv of a
// vision model (few input channels): one kernel instead of a layout/dtype convert followed
// by a cuDNN conv. cuDNN is slow at 3 input channels (its tensor-core kernels want channel
// counts in multiples of 8), and the convert costs a full extra pass over the largest tensor
// of the network, so the stem is memory-bound work we do in one read of the input and one
// write of the NHWC output. Each thread computes 16 (or 8) output channels of one pixel, with
// the weights in shared memory and FP32 accumulation. FP16 outputs of a window of 64 taps or
// more (OSNet's 7x7x3) run as a small implicit GEMM on tensor cores instead, inputs and
// weights rounded to FP16 as an FP16 engine's converted input would be, FP32 accumulation:
// 147 taps x 16 output channels per pixel made OSNet's stem 40 us of FMAs at batch 20.
// In an INT8 engine whose first INT8 conv reads the stem, the FMA kernel quantizes its FP32
// outputs in the store (QuantizeLinear's arithmetic): one int8 write instead of a float
// write, a read of it and the int8 write of a quantize step.
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/ops/implicit_gemm_mma.cuh"
#include "core/half.h"

namespace kiln::cuda {
namespace {

// Output channels per thread: 16 when K allows (one thread per pixel for the usual stem),
// else 8. Stores are 16-byte vectors.
template <int kCpt, typename T>
__device__ __forceinline__ void store_channels(T* out, const float (&v)[kCpt]);

template <int kCpt>
__device__ __forceinline__ void store_channels(float* out, const float (&v)[kCpt]) {
#pragma unroll
  for (int j = 0; j < kCpt; j += 4) reinterpret_cast<float4*>(out)[j / 4] = make_float4(v[j], v[j + 1], v[j + 2], v[j + 3]);
}

template <int kCpt>
__device__ __forceinline__ void store_channels(__half* out, const float (&v)[kCpt]) {
#pragma unroll
  for (int j = 0; j < kCpt; j += 8) {
    union {
      uint4 u;
      __half2 h[4];
    } pack;
#pragma unroll
    for (int e = 0; e < 4; ++e) pack.h[e] = __floats2half2_rn(v[j + 2 * e], v[j + 2 * e + 1]);
    reinterpret_cast<uint4*>(out)[j / 8] = pack.u;
  }
}

template <int kCpt>
__device__ __forceinline__ void store_quantized(int8_t* out, const float (&v)[kCpt], const OutputQuant& q) {
  Lanes<int8_t, kCpt> pack;
#pragma unroll
  for (int j = 0; j < kCpt; ++j) pack.v[j] = quantize_int8(v[j], q.scale, q.zero_point);
  *reinterpret_cast<Lanes<int8_t, kCpt>*>(out) = pack;
}

// kC, kR, kS > 0 fix the input channels and window at compile time (loops unrolled, the
// stems' 3x3x3 and 7x7x3); 0 takes them from the shape. Indexing is 32-bit (the launcher checks).
// Weights arrive KCRS (ONNX order) and are kept in shared memory as [c][r][s][k], so one
// thread's channels are consecutive floats.
template <typename T, int kCpt, int kC, int kR, int kS>
__global__ void conv_nchw_input_kernel(const float* __restrict__ in, const float* __restrict__ wt,
                                       const float* __restrict__ bias, T* __restrict__ out, ConvShape shape,
                                       ConvAct act, OutputQuant quant) {
  begin_kernel();
  extern __shared__ float w_sh[];
  const int C = kC > 0 ? kC : static_cast<int>(shape.c);
  const int R = kR > 0 ? kR : static_cast<int>(shape.r);
  const int S = kS > 0 ? kS : static_cast<int>(shape.s);
  const int K = static_cast<int>(shape.k);
  const int taps = C * R * S;
  for (int i = threadIdx.x; i < taps * K; i += blockDim.x) w_sh[(i % taps) * K + i / taps] = wt[i];
  __syncthreads();
  const int H = static_cast<int>(shape.h), W = static_cast<int>(shape.w);
  const int OH = static_cast<int>(shape.oh), OW = static_cast<int>(shape.ow);
  const int sh = static_cast<int>(shape.sh), sw = static_cast<int>(shape.sw);
  const int ph = static_cast<int>(shape.ph), pw = static_cast<int>(shape.pw);
  const int dh = static_cast<int>(shape.dh), dw = static_cast<int>(shape.dw);
  const int groups = K / kCpt;
  const int total = static_cast<int>(shape.n) * OH * OW * groups;
  const int plane = H * W;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const int k0 = (i % groups) * kCpt;
    const int pixel = i / groups;  // (n*OH + oy)*OW + ox
    const int ox = pixel % OW;
    const int oy = (pixel / OW) % OH;
    const float* img = in + static_cast<int64_t>(pixel / (OW * OH)) * C * plane;
    float acc[kCpt];
#pragma unroll
    for (int j = 0; j < kCpt; ++j) acc[j] = bias ? bias[k0 + j] : 0.f;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int y = oy * sh - ph + r * dh;
      if (y < 0 || y >= H) continue;
#pragma unroll
      for (int q = 0; q < S; ++q) {
        const int x = ox * sw - pw + q * dw;
        if (x < 0 || x >= W) continue;
#pragma unroll
        for (int c = 0; c < C; ++c) {
          const float v = __ldg(img + c * plane + y * W + x);
          const float4* w = reinterpret_cast<const float4*>(w_sh + ((c * R + r) * S + q) * K + k0);
#pragma unroll
          for (int j = 0; j < kCpt; j += 4) {
            const float4 w4 = w[j / 4];
            acc[j] += v * w4.x;
            acc[j + 1] += v * w4.y;
            acc[j + 2] += v * w4.z;
            acc[j + 3] += v * w4.w;
          }
        }
      }
    }
#pragma unroll
    for (int j = 0; j < kCpt; ++j) acc[j] = activate(acc[j], act);
    if constexpr (std::is_same_v<T, int8_t>)
      store_quantized<kCpt>(out + static_cast<int64_t>(pixel) * K + k0, acc, quant);
    else
      store_channels<kCpt>(out + static_cast<int64_t>(pixel) * K + k0, acc);
  }
}

template <typename T, int kCpt>
void launch_typed(const float* in, const float* weight, const float* bias, T* out, const ConvShape& s, ConvAct act,
                  const OutputQuant& quant, unsigned grid, size_t smem, cudaStream_t stream) {
  if (s.c == 3 && s.r == 3 && s.s == 3)
    launch_kernel(conv_nchw_input_kernel<T, kCpt, 3, 3, 3>, grid, kThreads, smem, stream, in, weight, bias, out, s, act,
                  quant);
  else if (s.c == 3 && s.r == 7 && s.s == 7)  // ResNet-style stems (OSNet)
    launch_kernel(conv_nchw_input_kernel<T, kCpt, 3, 7, 7>, grid, kThreads, smem, stream, in, weight, bias, out, s, act,
                  quant);
  else
    launch_kernel(conv_nchw_input_kernel<T, kCpt, 0, 0, 0>, grid, kThreads, smem, stream, in, weight, bias, out, s, act,
                  quant);
}

template <typename T>
void launch_fma(const float* in, const float* weight, const float* bias, void* out, const ConvShape& s, ConvAct act,
                const OutputQuant& quant, int cpt, unsigned grid, size_t smem, cudaStream_t stream) {
  if (cpt == 16)
    launch_typed<T, 16>(in, weight, bias, static_cast<T*>(out), s, act, quant, grid, smem, stream);
  else
    launch_typed<T, 8>(in, weight, bias, static_cast<T*>(out), s, act, quant, grid, smem, stream);
}

// The tensor-core path (FP16 outputs). A block computes kMmaRows output rows of kMmaCols
// pixels, a warp one row: mma::mma_f16 (m16n8k16), the 16 pixels as A's rows, the window's
// taps (c, r, s) as the reduction, zero-padded to a multiple of 16, and kNTiles groups of 8
// output channels. The block first stages its input window as FP16 in shared memory
// ([c][y][x], zeros outside the image), the weights (prepared as [k][tap] FP16 at plan
// time) and each tap's offset in the window, so every A element is one shared-memory read.
constexpr int kMmaCols = 16, kMmaRows = kThreads / 32;
// C * R * S, padded to 16. Below 64 taps (YOLO's 3x3x3 stem: 27) staging the window costs
// more than the FMAs it saves: on an H100 the tensor-core path made yolo11n 4% slower at
// batch 32, and OSNet's 7x7x3 stem 40 -> 26 us at batch 20.
constexpr int kMmaMinTaps = 64, kMmaMaxTaps = 256;
constexpr int kMmaMaxK = 64;      // output channels: 8 accumulator tiles

struct MmaGeometry {
  int taps, padded_taps;  // C * R * S and that rounded up to 16
  int w_stride;           // halves per output channel's row of weights (padded: no bank conflicts)
  int win_h, win_w;       // the input window of a block's output tile
};

MmaGeometry mma_geometry(const ConvShape& s) {
  MmaGeometry g{};
  g.taps = static_cast<int>(s.c * s.r * s.s);
  g.padded_taps = (g.taps + 15) / 16 * 16;
  g.w_stride = g.padded_taps + 8;
  g.win_h = static_cast<int>((kMmaRows - 1) * s.sh + (s.r - 1) * s.dh + 1);
  g.win_w = static_cast<int>((kMmaCols - 1) * s.sw + (s.s - 1) * s.dw + 1);
  return g;
}

size_t mma_shared_bytes(const ConvShape& s, const MmaGeometry& g) {
  return static_cast<size_t>(s.k) * g.w_stride * sizeof(__half) + static_cast<size_t>(g.padded_taps) * sizeof(int) +
         static_cast<size_t>(s.c) * g.win_h * g.win_w * sizeof(__half);
}

__device__ __forceinline__ uint32_t pack_halves(__half lo, __half hi) {
  return static_cast<uint32_t>(__half_as_ushort(lo)) | (static_cast<uint32_t>(__half_as_ushort(hi)) << 16);
}

// blockIdx: (column tile, row tile, image).
template <int kNTiles>
__global__ void conv_nchw_input_mma_kernel(const float* __restrict__ in, const __half* __restrict__ wt,
                                           const float* __restrict__ bias, __half* __restrict__ out, ConvShape shape,
                                           MmaGeometry g, ConvAct act) {
  begin_kernel();
#if __CUDA_ARCH__ >= 800
  extern __shared__ __align__(16) unsigned char smem[];
  __half* ws = reinterpret_cast<__half*>(smem);                                       // [K][w_stride]
  int* tap_at = reinterpret_cast<int*>(ws + static_cast<int>(shape.k) * g.w_stride);  // [padded_taps]
  __half* win = reinterpret_cast<__half*>(tap_at + g.padded_taps);                    // [C][win_h][win_w]
  const int C = static_cast<int>(shape.c), R = static_cast<int>(shape.r), S = static_cast<int>(shape.s);
  const int H = static_cast<int>(shape.h), W = static_cast<int>(shape.w);
  const int OH = static_cast<int>(shape.oh), OW = static_cast<int>(shape.ow), K = static_cast<int>(shape.k);
  const int sh = static_cast<int>(shape.sh), sw = static_cast<int>(shape.sw);
  const int oy0 = blockIdx.y * kMmaRows, ox0 = blockIdx.x * kMmaCols;
  const int y0 = oy0 * sh - static_cast<int>(shape.ph), x0 = ox0 * sw - static_cast<int>(shape.pw);
  const int win_plane = g.win_h * g.win_w;

  // The weights arrive in this layout (conv_nchw_input_mma_weights): 16-byte copies.
  for (int i = threadIdx.x; i < K * g.w_stride / 8; i += blockDim.x)
    reinterpret_cast<uint4*>(ws)[i] = __ldg(reinterpret_cast<const uint4*>(wt) + i);
  // A padded tap reads the window's first element: finite, and its weight is zero.
  for (int t = threadIdx.x; t < g.padded_taps; t += blockDim.x) {
    const int c = t / (R * S), r = t / S % R, q = t % S;
    const int dh = static_cast<int>(shape.dh), dw = static_cast<int>(shape.dw);
    tap_at[t] = t < g.taps ? c * win_plane + r * dh * g.win_w + q * dw : 0;
  }
  // The window, a warp per row (channel c, row y), its lanes along the row.
  const float* img = in + static_cast<int64_t>(blockIdx.z) * C * H * W;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int row = warp; row < C * g.win_h; row += kMmaRows) {
    const int c = row / g.win_h, y = y0 + row % g.win_h;
    for (int wx = lane; wx < g.win_w; wx += 32) {
      const int x = x0 + wx;
      const bool inside = y >= 0 && y < H && x >= 0 && x < W;
      win[row * g.win_w + wx] = __float2half_rn(inside ? __ldg(img + (c * H + y) * W + x) : 0.f);
    }
  }
  __syncthreads();

  const int grp = lane / 4, quad = lane % 4;
  // This lane's A rows: pixels grp and grp + 8 of the warp's output row.
  const int row0 = warp * sh * g.win_w + grp * sw, row1 = row0 + 8 * sw;
  float acc[kNTiles][4] = {};
  for (int t0 = 0; t0 < g.padded_taps; t0 += 16) {
    const int ta = tap_at[t0 + 2 * quad], tb = tap_at[t0 + 2 * quad + 1];
    const int tc = tap_at[t0 + 2 * quad + 8], td = tap_at[t0 + 2 * quad + 9];
    const uint32_t a[4] = {pack_halves(win[row0 + ta], win[row0 + tb]), pack_halves(win[row1 + ta], win[row1 + tb]),
                           pack_halves(win[row0 + tc], win[row0 + td]), pack_halves(win[row1 + tc], win[row1 + td])};
#pragma unroll
    for (int j = 0; j < kNTiles; ++j) {
      const __half* wrow = ws + (j * 8 + grp) * g.w_stride + t0 + 2 * quad;
      const uint32_t b[2] = {*reinterpret_cast<const uint32_t*>(wrow), *reinterpret_cast<const uint32_t*>(wrow + 8)};
      mma::mma_f16(acc[j], a, b);
    }
  }

  // Accumulators: (pixel grp, channels 2 quad, 2 quad + 1) and pixel grp + 8, per tile.
  const int oy = oy0 + warp;
  if (oy >= OH) return;
  with_activation(act, [&](auto kind) {
#pragma unroll
    for (int half_row = 0; half_row < 2; ++half_row) {
      const int ox = ox0 + grp + 8 * half_row;
      if (ox >= OW) continue;
      __half* px = out + ((static_cast<int64_t>(blockIdx.z) * OH + oy) * OW + ox) * K;
#pragma unroll
      for (int j = 0; j < kNTiles; ++j) {
        const int k = j * 8 + 2 * quad;
        const float v0 = activate(acc[j][2 * half_row] + (bias ? bias[k] : 0.f), kind.value);
        const float v1 = activate(acc[j][2 * half_row + 1] + (bias ? bias[k + 1] : 0.f), kind.value);
        *reinterpret_cast<__half2*>(px + k) = __floats2half2_rn(v0, v1);
      }
    }
  });
#endif
}

template <int kNTiles>
void launch_mma(const float* in, const __half* weight, const float* bias, __half* out, const ConvShape& s, ConvAct act,
                cudaStream_t stream) {
  const MmaGeometry g = mma_geometry(s);
  const dim3 grid(static_cast<unsigned>((s.ow + kMmaCols - 1) / kMmaCols),
                  static_cast<unsigned>((s.oh + kMmaRows - 1) / kMmaRows), static_cast<unsigned>(s.n));
  launch_kernel(conv_nchw_input_mma_kernel<kNTiles>, grid, kThreads, mma_shared_bytes(s, g), stream, in, weight, bias,
                out, s, g, act);
}

using MmaLauncher = void (*)(const float*, const __half*, const float*, __half*, const ConvShape&, ConvAct,
                             cudaStream_t);
constexpr MmaLauncher kMmaLaunchers[kMmaMaxK / 8] = {launch_mma<1>, launch_mma<2>, launch_mma<3>, launch_mma<4>,
                                                     launch_mma<5>, launch_mma<6>, launch_mma<7>, launch_mma<8>};

}  // namespace

bool conv_nchw_input_fits(const ConvShape& s) {
  // 32-bit indexing in the kernel: input and output element counts below 2^31.
  constexpr int64_t kMax = int64_t{1} << 31;
  return s.groups == 1 && s.c <= kConvNchwInputMaxChannels && s.k % 8 == 0 &&
         s.k * s.c * s.r * s.s * 4 <= kConvNchwInputMaxWeightBytes && s.n * s.c * s.h * s.w < kMax &&
         s.n * s.oh * s.ow * s.k < kMax;
}

bool conv_nchw_input_mma_fits(const ConvShape& s) {
  const MmaGeometry g = mma_geometry(s);
  return conv_nchw_input_fits(s) && g.padded_taps >= kMmaMinTaps && g.padded_taps <= kMmaMaxTaps &&
         s.k <= kMmaMaxK && s.n <= 65535 &&
         (s.oh + kMmaRows - 1) / kMmaRows <= 65535 && mma_shared_bytes(s, g) <= kConvNchwInputMaxWeightBytes;
}

std::vector<uint16_t> conv_nchw_input_mma_weights(const ConvShape& s, const float* kcrs) {
  const MmaGeometry g = mma_geometry(s);
  std::vector<uint16_t> w(static_cast<size_t>(s.k) * g.w_stride, 0);
  for (int64_t k = 0; k < s.k; ++k)
    for (int t = 0; t < g.taps; ++t) w[k * g.w_stride + t] = float_to_half(kcrs[k * g.taps + t]);
  return w;
}

Status launch_conv_nchw_input(const float* in, const void* weight, const float* bias, void* out, ir::DType out_type,
                              const ConvShape& s, ConvAct act, bool tensor_cores, const OutputQuant& quant,
                              cudaStream_t stream) {
  if (!conv_nchw_input_fits(s))
    return error(StatusCode::kUnsupported, "conv_nchw_input: shape outside its limits (", s.c, " channels in, ", s.k,
                 " out, ", s.n * s.c * s.h * s.w, " input elements)");
  const int cpt = s.k % 16 == 0 ? 16 : 8;
  const int64_t total = s.n * s.oh * s.ow * (s.k / cpt);
  if (total == 0) return Status::Ok();
  if (tensor_cores) {
    if (out_type != ir::DType::kFloat16 || !conv_nchw_input_mma_fits(s))
      return error(StatusCode::kUnsupported, "conv_nchw_input: tensor cores take FP16 outputs, ", kMmaMinTaps, " to ",
                   kMmaMaxTaps, " taps and at most ", kMmaMaxK, " channels");
    kMmaLaunchers[s.k / 8 - 1](in, static_cast<const __half*>(weight), bias, static_cast<__half*>(out), s, act, stream);
    return launch_status("conv_nchw_input");
  }
  const size_t smem = static_cast<size_t>(s.k * s.c * s.r * s.s) * sizeof(float);
  const float* w = static_cast<const float*>(weight);
  if (out_type == ir::DType::kInt8) {
    launch_fma<int8_t>(in, w, bias, out, s, act, quant, cpt, grid_for(total), smem, stream);
  } else if (!dispatch_float(out_type, [&](auto t) {
               launch_fma<decltype(t)>(in, w, bias, out, s, act, quant, cpt, grid_for(total), smem, stream);
             })) {
    return error(StatusCode::kUnsupported, "conv_nchw_input: dtype ", ir::dtype_name(out_type));
  }
  return launch_status("conv_nchw_input");
}

}  // namespace kiln::cuda
