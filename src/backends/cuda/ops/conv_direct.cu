// Own convolution kernels: a direct NHWC convolution (the fallback that always exists,
// any groups/stride/padding/dilation) and the bias + activation epilogue used after a
// conv-only cuDNN plan.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"

namespace kiln::cuda {
namespace {

template <typename T>
__global__ void conv_direct_kernel(const T* __restrict__ in, const T* __restrict__ wt, const float* __restrict__ bias,
                                   T* __restrict__ out, ConvShape s, bool act) {
  begin_kernel();
  const int64_t total = s.n * s.oh * s.ow * s.k;
  const int64_t cg = s.c / s.groups, kg = s.k / s.groups;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const auto [n, oy, ox, k] = nhwc_pos(i, s.oh, s.ow, s.k);
    const int64_t c0 = (k / kg) * cg;
    float acc = bias ? bias[k] : 0.f;
    for_each_tap(conv_window(s), oy, ox, [&](int64_t r, int64_t q, int64_t y, int64_t x) {
      const T* px = in + ((n * s.h + y) * s.w + x) * s.c + c0;
      const T* pw = wt + ((k * s.r + r) * s.s + q) * cg;
      for (int64_t ci = 0; ci < cg; ++ci) acc += to_float(px[ci]) * to_float(pw[ci]);
    });
    out[i] = from_float<T>(act ? silu(acc) : acc);
  }
}

template <typename T>
__global__ void bias_act_kernel(T* __restrict__ x, const float* __restrict__ bias, int64_t n, int64_t channels,
                                bool act) {
  begin_kernel();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float v = to_float(x[i]) + (bias ? bias[i % channels] : 0.f);
    x[i] = from_float<T>(act ? silu(v) : v);
  }
}

}  // namespace

Status launch_conv_direct_nhwc(const void* in, const void* weight, const float* bias, void* out, ir::DType type,
                               const ConvShape& s, bool silu_act, cudaStream_t stream) {
  const int64_t total = s.n * s.oh * s.ow * s.k;
  if (total == 0) return Status::Ok();
  bool ok = dispatch_float(type, [&](auto t) {
    using T = decltype(t);
    launch_kernel(conv_direct_kernel<T>, grid_for(total), kThreads, 0, stream, static_cast<const T*>(in),
                  static_cast<const T*>(weight), bias, static_cast<T*>(out), s, silu_act);
  });
  if (!ok) return error(StatusCode::kUnsupported, "conv_direct: dtype ", ir::dtype_name(type));
  return launch_status("conv_direct");
}

Status launch_bias_act(void* x, const float* bias, int64_t n, int64_t channels, bool silu_act, ir::DType type,
                       cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  bool ok = dispatch_float(type, [&](auto t) {
    using T = decltype(t);
    launch_kernel(bias_act_kernel<T>, grid_for(n), kThreads, 0, stream, static_cast<T*>(x), bias, n, channels,
                  silu_act);
  });
  if (!ok) return error(StatusCode::kUnsupported, "bias_act: dtype ", ir::dtype_name(type));
  return launch_status("bias_act");
}

}  // namespace kiln::cuda
