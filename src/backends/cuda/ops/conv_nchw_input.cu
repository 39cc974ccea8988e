// Direct convolution reading the graph's FP32 NCHW input as it is, for the stem conv of a
// vision model (few input channels): one kernel instead of a layout/dtype convert followed
// by a cuDNN conv. cuDNN is slow at 3 input channels (its tensor-core kernels want channel
// counts in multiples of 8), and the convert costs a full extra pass over the largest tensor
// of the network, so the stem is memory-bound work we do in one read of the input and one
// write of the NHWC output. Each thread computes 16 (or 8) output channels of one pixel,
// with the weights in shared memory and FP32 accumulation.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"

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

// kC, kR, kS > 0 fix the input channels and window at compile time (loops unrolled, the
// stems' 3x3x3 and 7x7x3); 0 takes them from the shape. Indexing is 32-bit (the launcher checks).
// Weights arrive KCRS (ONNX order) and are kept in shared memory as [c][r][s][k], so one
// thread's channels are consecutive floats.
template <typename T, int kCpt, int kC, int kR, int kS>
__global__ void conv_nchw_input_kernel(const float* __restrict__ in, const float* __restrict__ wt,
                                       const float* __restrict__ bias, T* __restrict__ out, ConvShape shape, ConvAct act) {
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
    store_channels<kCpt>(out + static_cast<int64_t>(pixel) * K + k0, acc);
  }
}

template <typename T, int kCpt>
void launch_typed(const float* in, const float* weight, const float* bias, T* out, const ConvShape& s, ConvAct act,
                  unsigned grid, size_t smem, cudaStream_t stream) {
  if (s.c == 3 && s.r == 3 && s.s == 3)
    conv_nchw_input_kernel<T, kCpt, 3, 3, 3><<<grid, kThreads, smem, stream>>>(in, weight, bias, out, s, act);
  else if (s.c == 3 && s.r == 7 && s.s == 7)  // ResNet-style stems (OSNet)
    conv_nchw_input_kernel<T, kCpt, 3, 7, 7><<<grid, kThreads, smem, stream>>>(in, weight, bias, out, s, act);
  else
    conv_nchw_input_kernel<T, kCpt, 0, 0, 0><<<grid, kThreads, smem, stream>>>(in, weight, bias, out, s, act);
}

}  // namespace

bool conv_nchw_input_fits(const ConvShape& s) {
  // 32-bit indexing in the kernel: input and output element counts below 2^31.
  constexpr int64_t kMax = int64_t{1} << 31;
  return s.groups == 1 && s.c <= kConvNchwInputMaxChannels && s.k % 8 == 0 &&
         s.k * s.c * s.r * s.s * 4 <= kConvNchwInputMaxWeightBytes && s.n * s.c * s.h * s.w < kMax &&
         s.n * s.oh * s.ow * s.k < kMax;
}

Status launch_conv_nchw_input(const float* in, const float* weight, const float* bias, void* out, ir::DType out_type,
                              const ConvShape& s, ConvAct act, cudaStream_t stream) {
  if (!conv_nchw_input_fits(s))
    return error(StatusCode::kUnsupported, "conv_nchw_input: shape outside its limits (", s.c, " channels in, ", s.k,
                 " out, ", s.n * s.c * s.h * s.w, " input elements)");
  const int cpt = s.k % 16 == 0 ? 16 : 8;
  const int64_t total = s.n * s.oh * s.ow * (s.k / cpt);
  if (total == 0) return Status::Ok();
  const size_t smem = static_cast<size_t>(s.k * s.c * s.r * s.s) * sizeof(float);
  bool ok = dispatch_float(out_type, [&](auto t) {
    using T = decltype(t);
    if (cpt == 16) launch_typed<T, 16>(in, weight, bias, static_cast<T*>(out), s, act, grid_for(total), smem, stream);
    else launch_typed<T, 8>(in, weight, bias, static_cast<T*>(out), s, act, grid_for(total), smem, stream);
  });
  if (!ok) return error(StatusCode::kUnsupported, "conv_nchw_input: dtype ", ir::dtype_name(out_type));
  return launch_status("conv_nchw_input");
}

}  // namespace kiln::cuda
