// Depthwise convolution with its bias and activation fused. cuDNN runs these convs as
// generic grouped convolutions; here each thread computes one output pixel x V channels,
// every input tap and weight read as one 16-byte vector, with 32-bit index math (64-bit
// divisions per element cost more than the loads) and the 3x3 window unrolled. Which of
// the two runs is measured at build (conv.cpp).
#include <climits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"

namespace kiln::cuda {

bool conv_depthwise_fits(const ConvShape& s) {
  return s.groups > 1 && s.groups == s.c && s.k == s.c && s.n * s.h * s.w * s.c <= INT_MAX &&
         s.n * s.oh * s.ow * s.k <= INT_MAX;
}

namespace {

struct DepthwiseArgs {
  int n, h, w, c, oh, ow, r, s, sh, sw, ph, pw, dh, dw, vecs;
};

template <int V>
__device__ __forceinline__ void accumulate(float (&acc)[V], const Lanes<float, V>& x, const Lanes<float, V>& w) {
#pragma unroll
  for (int j = 0; j < V; ++j) acc[j] = fmaf(x.v[j], w.v[j], acc[j]);
}
template <int V>
__device__ __forceinline__ void accumulate(float (&acc)[V], const Lanes<__half, V>& x, const Lanes<__half, V>& w) {
  if constexpr (V % 2 == 0) {
#pragma unroll
    for (int j = 0; j < V; j += 2) {
      const float2 xf = __half22float2(*reinterpret_cast<const __half2*>(&x.v[j]));
      const float2 wf = __half22float2(*reinterpret_cast<const __half2*>(&w.v[j]));
      acc[j] = fmaf(xf.x, wf.x, acc[j]);
      acc[j + 1] = fmaf(xf.y, wf.y, acc[j + 1]);
    }
  } else {
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = fmaf(__half2float(x.v[j]), __half2float(w.v[j]), acc[j]);
  }
}

// R: the window's side when it is fixed at compile time (3: unrolled), 0 for any window.
template <typename T, int V, int R>
__global__ void conv_depthwise_kernel(const T* __restrict__ in, const T* __restrict__ wt,
                                      const float* __restrict__ bias, T* __restrict__ out, DepthwiseArgs a,
                                      ConvAct act) {
  begin_kernel();
  using L = Lanes<T, V>;
  const int total = a.n * a.oh * a.ow * a.vecs;
  const int kr = R ? R : a.r, ks = R ? R : a.s;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    int t = i;
    const int k0 = (t % a.vecs) * V;
    t /= a.vecs;
    const int ox = t % a.ow;
    t /= a.ow;
    const int oy = t % a.oh, n = t / a.oh;
    const int y0 = oy * a.sh - a.ph, x0 = ox * a.sw - a.pw;
    const T* image = in + static_cast<size_t>(n) * a.h * a.w * a.c + k0;
    float acc[V];
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = bias[k0 + j];
#pragma unroll
    for (int r = 0; r < kr; ++r) {
      const int y = y0 + r * a.dh;
      if (static_cast<unsigned>(y) >= static_cast<unsigned>(a.h)) continue;
#pragma unroll
      for (int q = 0; q < ks; ++q) {
        const int x = x0 + q * a.dw;
        if (static_cast<unsigned>(x) >= static_cast<unsigned>(a.w)) continue;
        accumulate(acc, *reinterpret_cast<const L*>(image + (y * a.w + x) * a.c),
                   *reinterpret_cast<const L*>(wt + (r * ks + q) * a.c + k0));
      }
    }
    L o;
#pragma unroll
    for (int j = 0; j < V; ++j) o.v[j] = from_float<T>(activate(acc[j], act));
    *reinterpret_cast<L*>(out + static_cast<size_t>(i) * V) = o;  // pixel (n, oy, ox), channels k0..k0+V
  }
}

template <typename T, int V>
void launch(const T* x, const T* w, const float* bias, T* y, DepthwiseArgs a, ConvAct act, cudaStream_t stream) {
  a.vecs = a.c / V;
  const int64_t threads = int64_t(a.n) * a.oh * a.ow * a.vecs;
  if (threads == 0) return;
  if (a.r == 3 && a.s == 3)
    launch_kernel(conv_depthwise_kernel<T, V, 3>, grid_for(threads), kThreads, 0, stream, x, w, bias, y, a, act);
  else
    launch_kernel(conv_depthwise_kernel<T, V, 0>, grid_for(threads), kThreads, 0, stream, x, w, bias, y, a, act);
}

}  // namespace

Status launch_conv_depthwise_nhwc(const void* in, const void* weight, const float* bias, void* out, ir::DType type,
                                  const ConvShape& s, ConvAct act, cudaStream_t stream) {
  if (!conv_depthwise_fits(s)) return error(StatusCode::kInvalidArgument, "conv_depthwise: not a depthwise conv");
  const DepthwiseArgs a{int(s.n),  int(s.h),  int(s.w),  int(s.c),  int(s.oh), int(s.ow), int(s.r), int(s.s),
                        int(s.sh), int(s.sw), int(s.ph), int(s.pw), int(s.dh), int(s.dw), 0};
  bool ok = dispatch_float(type, [&](auto t) {
    using T = decltype(t);
    constexpr int kV = 16 / sizeof(T);  // one 16-byte access
    const T* x = static_cast<const T*>(in);
    const T* w = static_cast<const T*>(weight);
    T* y = static_cast<T*>(out);
    if (aligned16(x, w, y) && s.k % kV == 0) launch<T, kV>(x, w, bias, y, a, act, stream);
    else launch<T, 1>(x, w, bias, y, a, act, stream);
  });
  if (!ok) return error(StatusCode::kUnsupported, "conv_depthwise: dtype ", ir::dtype_name(type));
  return launch_status("conv_depthwise");
}

}  // namespace kiln::cuda
