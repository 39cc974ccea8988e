// QConvInt8's direct and dp4a kernels and the dispatch to every kernel (the depthwise and
// tensor-core ones live in qconv_int8_depthwise.cu and qconv_int8_mma.cu). The accumulation
// is exact in int32 (tensor-core mma, dp4a or integer multiply-adds, in any order); the
// epilogue is ir/qconv_int8.h's, compiled without FMA contraction (-fmad=false,
// CMakeLists.txt) so each float step rounds as the CPU kernel's does.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/ops/qconv_int8_device.cuh"

namespace kiln::cuda {
namespace {

// One thread per output element: sum over the window's valid taps of (x - zero point) * w.
template <typename T>
__global__ void qconv_direct_kernel(QConvInt8Args a) {
  begin_kernel();
  const ConvShape& s = a.s;
  const int64_t total = s.n * s.oh * s.ow * s.k;
  const int64_t cg = s.c / s.groups, kg = s.k / s.groups;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const auto [n, oy, ox, k] = nhwc_pos(i, s.oh, s.ow, s.k);
    const int64_t c0 = (k / kg) * cg;
    int32_t acc = 0;
    for_each_tap(conv_window(s), oy, ox, [&](int64_t r, int64_t q, int64_t y, int64_t x) {
      const int8_t* px = a.x + ((n * s.h + y) * s.w + x) * s.c + c0;
      const int8_t* pw = a.w + ((k * s.r + r) * s.s + q) * cg;
      for (int64_t ci = 0; ci < cg; ++ci) acc += (int32_t(px[ci]) - a.x_zero_point) * int32_t(pw[ci]);
    });
    qconv_store<T>(a, (n * s.oh + oy) * s.ow + ox, k, acc);
  }
}

constexpr int kTilePixels = 64;    // output pixels per block
constexpr int kTileChannels = 64;  // output channels per block (within one group)
constexpr int kTileWords = 8;      // 4-channel words of the reduction per shared-memory stage (k = 32)
constexpr int kTilePad = 8;        // words of padding per shared row: conflict-free fragment reads
constexpr int kTiledThreads = 256;

// Accumulates one 32-channel stage held in shared memory (xs: [word][pixel], ws: [word][output
// channel]) into this thread's accumulators by dp4a, each thread 4 pixels x 4 channels.
__device__ __forceinline__ void dp4a_stage(const int32_t (*xs)[kTilePixels + kTilePad],
                                           const int32_t (*ws)[kTileChannels + kTilePad], int32_t (&acc)[16]) {
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
#pragma unroll
  for (int j = 0; j < kTileWords; ++j) {
    const int4 xv = *reinterpret_cast<const int4*>(&xs[j][ty * 4]);
    const int4 wv = *reinterpret_cast<const int4*>(&ws[j][tx * 4]);
    const int32_t xa[4] = {xv.x, xv.y, xv.z, xv.w}, wa[4] = {wv.x, wv.y, wv.z, wv.w};
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int c = 0; c < 4; ++c) acc[i * 4 + c] = __dp4a(xa[i], wa[c], acc[i * 4 + c]);
  }
}

// Implicit GEMM by dp4a (GPUs without int8 tensor cores): pixels x output channels, reduced
// over taps x input channels in words of 4 int8 channels. Taps in the padding read the zero
// point, so the raw sum is sum(x' * w) over every tap and acc = raw - zero_point * sum(w):
// exact in int32.
template <typename T>
__global__ void __launch_bounds__(kTiledThreads) qconv_dp4a_kernel(QConvInt8Args a) {
  begin_kernel();
  __shared__ __align__(16) int32_t xs[kTileWords][kTilePixels + kTilePad];
  __shared__ __align__(16) int32_t ws[kTileWords][kTileChannels + kTilePad];
  const ConvShape& s = a.s;
  const int tid = threadIdx.x;
  const int64_t group = blockIdx.z;
  const int64_t cg = s.c / s.groups, kg = s.k / s.groups, words = cg / 4;
  const int64_t pixels = s.n * s.oh * s.ow;
  const int64_t p0 = int64_t(blockIdx.x) * kTilePixels, k0 = int64_t(blockIdx.y) * kTileChannels;
  const int load_word = tid % kTileWords, load_row = tid / kTileWords;  // rows load_row and load_row + 32
  constexpr int kRowStep = kTiledThreads / kTileWords;
  static_assert(2 * kRowStep == kTilePixels && 2 * kRowStep == kTileChannels);

  // The input origin (image, top-left tap) of this thread's two pixel rows, and its two weight rows.
  int64_t img[2], iy0[2], ix0[2];
  bool pixel_ok[2], channel_ok[2];
  const int8_t* w_row[2];
  for (int t = 0; t < 2; ++t) {
    const int64_t m = p0 + load_row + t * kRowStep;
    pixel_ok[t] = m < pixels;
    const int64_t mm = pixel_ok[t] ? m : 0;
    img[t] = mm / (s.oh * s.ow);
    iy0[t] = (mm / s.ow) % s.oh * s.sh - s.ph;
    ix0[t] = mm % s.ow * s.sw - s.pw;
    const int64_t k = k0 + load_row + t * kRowStep;
    channel_ok[t] = k < kg;
    w_row[t] = a.w + (group * kg + (channel_ok[t] ? k : 0)) * s.r * s.s * cg;
  }
  const int32_t zero_word = int32_t((uint32_t(uint8_t(int8_t(a.x_zero_point))) * 0x01010101u));
  const int8_t* x_group = a.x + group * cg;

  int32_t acc[16] = {};
  for (int64_t r = 0; r < s.r; ++r) {
    for (int64_t q = 0; q < s.s; ++q) {
      for (int64_t w0 = 0; w0 < words; w0 += kTileWords) {
        const int64_t word = w0 + load_word;
        for (int t = 0; t < 2; ++t) {
          int32_t xv = 0;
          if (pixel_ok[t] && word < words) {
            const int64_t y = iy0[t] + r * s.dh, x = ix0[t] + q * s.dw;
            xv = y < 0 || y >= s.h || x < 0 || x >= s.w
                     ? zero_word
                     : *reinterpret_cast<const int32_t*>(x_group + ((img[t] * s.h + y) * s.w + x) * s.c + word * 4);
          }
          xs[load_word][load_row + t * kRowStep] = xv;
          ws[load_word][load_row + t * kRowStep] =
              channel_ok[t] && word < words
                  ? *reinterpret_cast<const int32_t*>(w_row[t] + (r * s.s + q) * cg + word * 4)
                  : 0;
        }
        __syncthreads();
        dp4a_stage(xs, ws, acc);
        __syncthreads();
      }
    }
  }
#pragma unroll
  for (int i = 0; i < 16; ++i) {
    const int64_t m = p0 + (tid / 16) * 4 + i / 4, k = k0 + (tid % 16) * 4 + i % 4;
    if (m >= pixels || k >= kg) continue;
    const int64_t kk = group * kg + k;
    qconv_store<T>(a, m, kk, acc[i] - a.x_zero_point * a.w_sum[kk]);
  }
}

}  // namespace

QConvInt8Kernel choose_qconv_int8_kernel(const ConvShape& s, bool tensor_cores) {
  if (s.groups == s.c && s.k == s.c && s.c % 4 == 0) return QConvInt8Kernel::kDepthwise;
  if ((s.c / s.groups) % 4) return QConvInt8Kernel::kDirect;  // the tiled kernels read whole 4-channel words
  if (qconv_int8_pixel_fits(s)) return QConvInt8Kernel::kPixel;
  return tensor_cores ? QConvInt8Kernel::kMma : QConvInt8Kernel::kDp4aTiled;
}

std::string qconv_int8_tactic(const QConvInt8Args& a) {
  switch (a.kernel) {
    case QConvInt8Kernel::kDirect: return "int8_direct";
    case QConvInt8Kernel::kDepthwise: return "int8_depthwise";
    case QConvInt8Kernel::kDp4aTiled: return "int8_dp4a_tiled";
    case QConvInt8Kernel::kPixel: return "int8_pixel";
    case QConvInt8Kernel::kMma: return std::string("int8_mma_") + mma_tile_name(a.tile);
  }
  return "int8_unknown";
}

Status launch_qconv_int8(const QConvInt8Args& a, cudaStream_t stream) {
  const ConvShape& s = a.s;
  const int64_t pixels = s.n * s.oh * s.ow;
  if (pixels * s.k == 0) return Status::Ok();
  if (a.float_type != ir::DType::kFloat32 && a.float_type != ir::DType::kFloat16)
    return error(StatusCode::kUnsupported, "qconv_int8: float dtype ", ir::dtype_name(a.float_type));
  if (a.kernel == QConvInt8Kernel::kDepthwise) return launch_qconv_int8_depthwise(a, stream);
  if (a.kernel == QConvInt8Kernel::kPixel) return launch_qconv_int8_pixel(a, stream);
  if (a.kernel == QConvInt8Kernel::kDirect) {
    dispatch_float(a.float_type, [&](auto t) {
      launch_kernel(qconv_direct_kernel<decltype(t)>, grid_for(pixels * s.k), kThreads, 0, stream, a);
    });
    return launch_status("qconv_int8 (direct)");
  }
  if (a.kernel != QConvInt8Kernel::kDp4aTiled) return launch_qconv_int8_mma(a, stream);
  const int64_t kg = s.k / s.groups;
  const int64_t blocks_p = (pixels + kTilePixels - 1) / kTilePixels, blocks_k = (kg + kTileChannels - 1) / kTileChannels;
  if (blocks_p > INT32_MAX || blocks_k > 65535 || s.groups > 65535)
    return error(StatusCode::kUnsupported, "qconv_int8: ", pixels, " pixels x ", kg, " channels x ", s.groups,
                 " groups exceed the launch grid");
  const dim3 grid(unsigned(blocks_p), unsigned(blocks_k), unsigned(s.groups));
  dispatch_float(a.float_type,
                 [&](auto t) { launch_kernel(qconv_dp4a_kernel<decltype(t)>, grid, kTiledThreads, 0, stream, a); });
  return launch_status("qconv_int8 (tiled dp4a)");
}

}  // namespace kiln::cuda
