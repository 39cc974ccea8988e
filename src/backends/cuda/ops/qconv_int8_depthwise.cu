// QConvInt8's depthwise kernel (groups == channels == output channels): each thread one output
// pixel x V channels, its input and weight taps read as one V-byte vector each (NHWC input,
// weights [R][S][K]), accumulated exactly in int32 and stored through the tensor-core
// kernel's epilogue (qconv_fast_output), int8 outputs as one V-byte vector.
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/ops/qconv_int8_device.cuh"

namespace kiln::cuda {
namespace {

template <typename T, int V>
__global__ void qconv_depthwise_kernel(QConvInt8Args a) {
  begin_kernel();
  using Vec = std::conditional_t<V == 16, int4, int32_t>;
  static_assert(sizeof(Vec) == V);
  const ConvShape& s = a.s;
  const uint32_t vecs = uint32_t(s.c / V), total = uint32_t(s.n * s.oh * s.ow * vecs);  // < 2^31: launch
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const auto [n, oy, ox, cv] = nhwc_pos(i, uint32_t(s.oh), uint32_t(s.ow), vecs);
    const int64_t k0 = cv * V;
    int32_t acc[V] = {};
    for_each_tap(conv_window(s), oy, ox, [&](int64_t r, int64_t q, int64_t y, int64_t x) {
      const Vec xv = *reinterpret_cast<const Vec*>(a.x + ((n * s.h + y) * s.w + x) * s.c + k0);
      const Vec wv = __ldg(reinterpret_cast<const Vec*>(a.w + (r * s.s + q) * s.c + k0));
      const int8_t* xb = reinterpret_cast<const int8_t*>(&xv);
      const int8_t* wb = reinterpret_cast<const int8_t*>(&wv);
#pragma unroll
      for (int j = 0; j < V; ++j) acc[j] += (int32_t(xb[j]) - a.x_zero_point) * int32_t(wb[j]);
    });
    const int64_t pixel = (n * s.oh + oy) * s.ow + ox;
    const T* res = a.residual ? static_cast<const T*>(a.residual) + pixel * a.residual_pixel_stride + k0 : nullptr;
    if (a.int8_output) {
      Vec out;
      int8_t* ob = reinterpret_cast<int8_t*>(&out);
#pragma unroll
      for (int j = 0; j < V; ++j)
        ob[j] = qconv_fast_output<int8_t>(a, {a.scale[k0 + j], a.bias[k0 + j]}, acc[j], res ? to_float(res[j]) : 0.f);
      *reinterpret_cast<Vec*>(static_cast<int8_t*>(a.y) + pixel * a.y_pixel_stride + k0) = out;
    } else {
      T* y = static_cast<T*>(a.y) + pixel * a.y_pixel_stride + k0;
#pragma unroll
      for (int j = 0; j < V; ++j)
        y[j] = qconv_fast_output<T>(a, {a.scale[k0 + j], a.bias[k0 + j]}, acc[j], res ? to_float(res[j]) : 0.f);
    }
  }
}

}  // namespace

Status launch_qconv_int8_depthwise(const QConvInt8Args& a, cudaStream_t stream) {
  const ConvShape& s = a.s;
  const int v = s.c % 16 == 0 ? 16 : 4;
  const int64_t threads = s.n * s.oh * s.ow * (s.c / v);
  if (threads > INT32_MAX) return error(StatusCode::kUnsupported, "qconv_int8 (depthwise): ", threads, " vectors");
  dispatch_float(a.float_type, [&](auto t) {
    using T = decltype(t);
    if (v == 16)
      launch_kernel(qconv_depthwise_kernel<T, 16>, grid_for(threads), kThreads, 0, stream, a);
    else
      launch_kernel(qconv_depthwise_kernel<T, 4>, grid_for(threads), kThreads, 0, stream, a);
  });
  return launch_status("qconv_int8 (depthwise)");
}

}  // namespace kiln::cuda
