// QConvInt8 kernels. The accumulation is exact in int32 (tensor-core mma, dp4a or integer
// multiply-adds, in any order); the epilogue is ir/qconv_int8.h's, compiled without FMA contraction (-fmad=false,
// CMakeLists.txt) so each float step rounds as the CPU kernel's does.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/ops/qconv_int8_device.cuh"

namespace kiln::cuda {
namespace {

// One thread per output element: sum over the window's valid taps of (x - zero point) * w.
template <typename T>
__global__ void qconv_direct_kernel(QConvInt8Args a) {
  const ConvShape& s = a.s;
  const int64_t total = s.n * s.oh * s.ow * s.k;
  const int64_t cg = s.c / s.groups, kg = s.k / s.groups;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const auto [n, oy, ox, k] = nhwc_pos(i, s.oh, s.ow, s.k);
    const int64_t c0 = (k / kg) * cg;
    int32_t acc = 0;
    for (int64_t r = 0; r < s.r; ++r) {
      const int64_t y = oy * s.sh - s.ph + r * s.dh;
      if (y < 0 || y >= s.h) continue;
      for (int64_t q = 0; q < s.s; ++q) {
        const int64_t x = ox * s.sw - s.pw + q * s.dw;
        if (x < 0 || x >= s.w) continue;
        const int8_t* px = a.x + ((n * s.h + y) * s.w + x) * s.c + c0;
        const int8_t* pw = a.w + ((k * s.r + r) * s.s + q) * cg;
        for (int64_t ci = 0; ci < cg; ++ci) acc += (int32_t(px[ci]) - a.x_zero_point) * int32_t(pw[ci]);
      }
    }
    qconv_store<T>(a, (n * s.oh + oy) * s.ow + ox, k, acc);
  }
}

constexpr int kTilePixels = 64;    // output pixels per block
constexpr int kTileChannels = 64;  // output channels per block (within one group)
constexpr int kTileWords = 8;      // 4-channel words of the reduction per shared-memory stage (k = 32)
constexpr int kTilePad = 8;        // words of padding per shared row: conflict-free fragment reads
constexpr int kTiledThreads = 256;

// Accumulates one 32-channel stage held in shared memory (xs: [word][pixel], ws: [word][output
// channel]) into this thread's accumulators, and names the (pixel, channel) of accumulator i.
// kMma: tensor cores, mma.sync m16n8k32 s8 (sm_80 and later); the 8 warps tile 4 x 2, each 16
// pixels x 32 channels as four m16n8 tiles. Its fragments are 32-bit words of 4 channels:
// A (pixels x k, row-major) a0 = (pixel g, word t), a1 = (g + 8, t), a2 = (g, t + 4),
// a3 = (g + 8, t + 4); B (k x channels, column-major) b0 = (word t, channel g), b1 = (t + 4, g);
// C c0, c1 = (pixel g, channels 2t, 2t + 1), c2, c3 = (g + 8, the same), with g = lane / 4 and
// t = lane % 4 (PTX ISA, "Matrix fragments for mma.m16n8k32"). Else dp4a: each thread 4
// pixels x 4 channels.
template <bool kMma>
struct TileMath {
  static constexpr int kAcc = 16;

  __device__ static void stage(const int32_t (*xs)[kTilePixels + kTilePad], const int32_t (*ws)[kTileChannels + kTilePad],
                               int32_t (&acc)[kAcc]) {
    const int tid = threadIdx.x;
    if constexpr (kMma) {
#if __CUDA_ARCH__ >= 800
      const int warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
      const int pm = (warp % 4) * 16, cn = (warp / 4) * 32;
      const int32_t a0 = xs[t][pm + g], a1 = xs[t][pm + g + 8], a2 = xs[t + 4][pm + g], a3 = xs[t + 4][pm + g + 8];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int32_t b0 = ws[t][cn + j * 8 + g], b1 = ws[t + 4][cn + j * 8 + g];
        asm volatile(
            "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+r"(acc[j * 4 + 0]), "+r"(acc[j * 4 + 1]), "+r"(acc[j * 4 + 2]), "+r"(acc[j * 4 + 3])
            : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
      }
#else
      __trap();  // launched only on GPUs of compute capability 8.0 and later
#endif
    } else {
      const int ty = tid / 16, tx = tid % 16;
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
  }

  // Pixel and channel offsets within the block tile of accumulator i.
  __device__ static int pixel(int i) {
    const int tid = threadIdx.x;
    if constexpr (kMma) return (tid / 32 % 4) * 16 + (tid % 32) / 4 + ((i % 4) >= 2 ? 8 : 0);
    else return (tid / 16) * 4 + i / 4;
  }
  __device__ static int channel(int i) {
    const int tid = threadIdx.x;
    if constexpr (kMma) return (tid / 32 / 4) * 32 + (i / 4) * 8 + (tid % 4) * 2 + (i % 2);
    else return (tid % 16) * 4 + i % 4;
  }
};

// Implicit GEMM: pixels x output channels, reduced over taps x input channels in words of 4
// int8 channels. Taps in the padding read the zero point, so the raw sum is sum(x' * w)
// over every tap and acc = raw - zero_point * sum(w): exact in int32.
template <typename T, bool kMma>
__global__ void __launch_bounds__(kTiledThreads) qconv_tiled_kernel(QConvInt8Args a) {
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

  int32_t acc[TileMath<kMma>::kAcc] = {};
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
        TileMath<kMma>::stage(xs, ws, acc);
        __syncthreads();
      }
    }
  }
#pragma unroll
  for (int i = 0; i < TileMath<kMma>::kAcc; ++i) {
    const int64_t m = p0 + TileMath<kMma>::pixel(i), k = k0 + TileMath<kMma>::channel(i);
    if (m >= pixels || k >= kg) continue;
    const int64_t kk = group * kg + k;
    qconv_store<T>(a, m, kk, acc[i] - a.x_zero_point * a.w_sum[kk]);
  }
}

}  // namespace

bool qconv_int8_tensor_cores_available() {
  int device = 0, major = 0;
  return cudaGetDevice(&device) == cudaSuccess &&
         cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess && major >= 8;
}

QConvInt8Kernel choose_qconv_int8_kernel(const ConvShape& s, bool tensor_cores) {
  if (s.groups == s.c && s.k == s.c && s.c % 4 == 0) return QConvInt8Kernel::kDepthwise;
  if ((s.c / s.groups) % 4) return QConvInt8Kernel::kDirect;  // the tiled kernels read whole 4-channel words
  return tensor_cores ? QConvInt8Kernel::kMmaTiled : QConvInt8Kernel::kDp4aTiled;
}

const char* qconv_int8_tactic(QConvInt8Kernel kernel) {
  switch (kernel) {
    case QConvInt8Kernel::kDirect: return "int8_direct";
    case QConvInt8Kernel::kDepthwise: return "int8_depthwise";
    case QConvInt8Kernel::kDp4aTiled: return "int8_dp4a_tiled";
    case QConvInt8Kernel::kMmaTiled: return "int8_mma_tiled";
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
  if (a.kernel == QConvInt8Kernel::kDirect) {
    dispatch_float(a.float_type, [&](auto t) {
      qconv_direct_kernel<decltype(t)><<<grid_for(pixels * s.k), kThreads, 0, stream>>>(a);
    });
    return launch_status("qconv_int8 (direct)");
  }
  const int64_t kg = s.k / s.groups;
  const int64_t blocks_p = (pixels + kTilePixels - 1) / kTilePixels, blocks_k = (kg + kTileChannels - 1) / kTileChannels;
  if (blocks_p > INT32_MAX || blocks_k > 65535 || s.groups > 65535)
    return error(StatusCode::kUnsupported, "qconv_int8: ", pixels, " pixels x ", kg, " channels x ", s.groups,
                 " groups exceed the launch grid");
  const dim3 grid(unsigned(blocks_p), unsigned(blocks_k), unsigned(s.groups));
  const bool mma = a.kernel == QConvInt8Kernel::kMmaTiled;
  dispatch_float(a.float_type, [&](auto t) {
    using T = decltype(t);
    if (mma) qconv_tiled_kernel<T, true><<<grid, kTiledThreads, 0, stream>>>(a);
    else qconv_tiled_kernel<T, false><<<grid, kTiledThreads, 0, stream>>>(a);
  });
  return launch_status(mma ? "qconv_int8 (tiled mma)" : "qconv_int8 (tiled dp4a)");
}

}  // namespace kiln::cuda
