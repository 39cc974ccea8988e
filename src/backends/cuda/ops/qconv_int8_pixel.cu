// QConvInt8's few-channel kernel (groups 1, 8 or 16 input and output channels, the narrow
// 3x3 convs inside YOLO's C3k2 bottlenecks): each thread all output channels of one pixel,
// its input taps read as 8- or 16-byte vectors and multiplied by dp4a against weights
// staged in shared memory as [tap][input word][output channel] (the plan's layout, copied
// in 16-byte pieces), read as 16-byte broadcasts.
// The tensor-core kernel's smallest tile (128 pixels x 16 channels) walks such a window one
// short stage at a time and waits on each load; here every thread has its own taps in
// flight (yolo11n's 16 -> 8 and 8 -> 16 3x3s at 160x160, batch 32, on an H100: 126 -> 38
// and 106 -> 60 us). With 32 input channels the tile is already the faster (34 against
// 38 us). Taps in the padding read the zero point, as in the tensor-core kernel, so the
// epilogue is its qconv_channel + qconv_fast_output.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/ops/qconv_int8_device.cuh"

namespace kiln::cuda {
namespace {

// kWords: 4-byte words of input channels per tap (C / 4: 2 or 4); kK: output channels.
template <typename T, int kWords, int kK>
__global__ void __launch_bounds__(kThreads) qconv_pixel_kernel(QConvInt8Args a) {
  begin_kernel();
  extern __shared__ __align__(16) int32_t w_sh[];  // [tap][word][k], as the plan laid them out
  const ConvShape& s = a.s;
  const int taps = int(s.r * s.s);
  for (int i = threadIdx.x; i < taps * kWords * kK / 4; i += blockDim.x)
    reinterpret_cast<int4*>(w_sh)[i] = __ldg(reinterpret_cast<const int4*>(a.w) + i);
  __syncthreads();
  const int32_t zero_word = int32_t(uint32_t(uint8_t(int8_t(a.x_zero_point))) * 0x01010101u);
  QConvChannel ch[kK];
#pragma unroll
  for (int k = 0; k < kK; ++k) ch[k] = qconv_channel(a, k);
  const uint32_t H = uint32_t(s.h), W = uint32_t(s.w), OH = uint32_t(s.oh), OW = uint32_t(s.ow);
  const uint32_t pixels = uint32_t(s.n) * OH * OW;  // < 2^31: launch
  using XVec = Lanes<int32_t, kWords>;
  for (uint32_t pixel = blockIdx.x * blockDim.x + threadIdx.x; pixel < pixels; pixel += gridDim.x * blockDim.x) {
    const uint32_t ox = pixel % OW, oy = pixel / OW % OH, n = pixel / (OW * OH);
    const int y0 = int(oy * uint32_t(s.sh)) - int(s.ph), x0 = int(ox * uint32_t(s.sw)) - int(s.pw);
    int32_t acc[kK] = {};
    for (int r = 0; r < int(s.r); ++r) {
      const int y = y0 + r * int(s.dh);
      for (int q = 0; q < int(s.s); ++q) {
        const int x = x0 + q * int(s.dw);
        XVec xv;
        if (y >= 0 && y < int(H) && x >= 0 && x < int(W)) {
          const int32_t* src =
              reinterpret_cast<const int32_t*>(a.x) + ((n * H + uint32_t(y)) * W + uint32_t(x)) * kWords;
#pragma unroll
          for (int j = 0; j < kWords; j += 2)
            *reinterpret_cast<int2*>(&xv.v[j]) = *reinterpret_cast<const int2*>(src + j);
        } else {
#pragma unroll
          for (int j = 0; j < kWords; ++j) xv.v[j] = zero_word;
        }
        const int4* w = reinterpret_cast<const int4*>(w_sh + (r * int(s.s) + q) * kWords * kK);
#pragma unroll
        for (int j = 0; j < kWords; ++j)
#pragma unroll
          for (int k4 = 0; k4 < kK / 4; ++k4) {
            const int4 wv = w[j * (kK / 4) + k4];
            acc[4 * k4] = __dp4a(xv.v[j], wv.x, acc[4 * k4]);
            acc[4 * k4 + 1] = __dp4a(xv.v[j], wv.y, acc[4 * k4 + 1]);
            acc[4 * k4 + 2] = __dp4a(xv.v[j], wv.z, acc[4 * k4 + 2]);
            acc[4 * k4 + 3] = __dp4a(xv.v[j], wv.w, acc[4 * k4 + 3]);
          }
      }
    }
    const T* res = a.residual ? static_cast<const T*>(a.residual) + pixel * a.residual_pixel_stride : nullptr;
    auto store = [&](auto o) {
      using O = decltype(o);
      Lanes<O, kK> out;
#pragma unroll
      for (int k = 0; k < kK; ++k) out.v[k] = qconv_fast_output<O>(a, ch[k], acc[k], res ? to_float(res[k]) : 0.f);
      O* y = static_cast<O*>(a.y) + pixel * a.y_pixel_stride;
      if (reinterpret_cast<uintptr_t>(y) % 8 == 0) {
#pragma unroll
        for (int j = 0; j < int(sizeof(out)) / 8; ++j)
          reinterpret_cast<int2*>(y)[j] = reinterpret_cast<const int2*>(&out)[j];
      } else {
#pragma unroll
        for (int k = 0; k < kK; ++k) y[k] = out.v[k];
      }
    };
    if (a.int8_output)
      store(int8_t{});
    else
      store(T{});
  }
}

template <typename T, int kWords>
void launch_words(const QConvInt8Args& a, unsigned grid, size_t smem, cudaStream_t stream) {
  if (a.s.k == 8)
    launch_kernel(qconv_pixel_kernel<T, kWords, 8>, grid, kThreads, smem, stream, a);
  else
    launch_kernel(qconv_pixel_kernel<T, kWords, 16>, grid, kThreads, smem, stream, a);
}

}  // namespace

bool qconv_int8_pixel_fits(const ConvShape& s) {
  return s.groups == 1 && (s.c == 8 || s.c == 16) && (s.k == 8 || s.k == 16) &&
         s.r * s.s * s.c * s.k <= int64_t(kMaxSharedBytes);
}

Status launch_qconv_int8_pixel(const QConvInt8Args& a, cudaStream_t stream) {
  const ConvShape& s = a.s;
  const int64_t pixels = s.n * s.oh * s.ow;
  if (!qconv_int8_pixel_fits(s) || pixels > INT32_MAX || s.n * s.h * s.w * s.c / 4 > UINT32_MAX)
    return error(StatusCode::kUnsupported, "qconv_int8 (pixel): ", s.c, " -> ", s.k, " channels, ", pixels,
                 " output pixels, ", s.n * s.h * s.w, " input pixels");
  const size_t smem = size_t(s.r * s.s * s.c * s.k);  // taps x words x k int32 words
  dispatch_float(a.float_type, [&](auto t) {
    using T = decltype(t);
    if (s.c == 8)
      launch_words<T, 2>(a, grid_for(pixels), smem, stream);
    else
      launch_words<T, 4>(a, grid_for(pixels), smem, stream);
  });
  return launch_status("qconv_int8 (pixel)");
}

}  // namespace kiln::cuda
