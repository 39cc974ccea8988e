// QConvInt8's tensor-core kernel: an implicit GEMM, output pixels x output channels (of one
// group), reduced over taps x input channels flattened into one sequence of 4-channel words
// (KRSC weights make it contiguous per output channel), so that a layer of 16 input channels
// fills whole stages with several taps. Each stage holds 16 words (64 channels) of the
// sequence in shared memory, double-buffered: the next stage's global loads are in flight
// in registers while the tensor cores work on this one, one barrier per stage. Taps in the
// padding read the zero point, so the raw sum covers every tap and acc = raw - zp * sum(w),
// exact in int32. The input is int8, or the float tensor of a QuantizeLinear folded into the
// loads (the same quantization, without the int8 tensor's round trip through memory).
//
// mma.sync m16n8k32 s8 fragments are 32-bit words of 4 channels (PTX ISA, "Matrix fragments
// for mma.m16n8k32"), with g = lane / 4 and t = lane % 4: A (pixels x k, row-major)
// a0 = (pixel g, word t), a1 = (g + 8, t), a2 = (g, t + 4), a3 = (g + 8, t + 4); B (k x
// channels, column-major) b0 = (word t, channel g), b1 = (t + 4, g); C c0, c1 = (pixel g,
// channels 2t, 2t + 1), c2, c3 = (g + 8, the same). Shared memory is [word][pixel] and
// [word][channel], rows padded to 8 mod 32 words so that those fragment reads, and the
// stores of 32 consecutive pixels or channels of one word, are free of bank conflicts.
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/ops/qconv_int8_device.cuh"

namespace kiln::cuda {
namespace {

constexpr int kThreadsPerBlock = 256;  // 8 warps
constexpr int kStageWords = 16;        // 4-channel words of the reduction per stage
constexpr int kPad = 8;

// A block tile of BM pixels x BN channels, its 8 warps kWarpsM x kWarpsN, each warp
// kFragM x kFragN m16n8 tiles; V words per global load (4: one 16-byte load, when a group's
// channel count is a multiple of 16).
template <int BM, int BN, int kWarpsM, int V>
struct Tile {
  static constexpr int kWarpsN = 8 / kWarpsM;
  static constexpr int kFragM = BM / kWarpsM / 16, kFragN = BN / kWarpsN / 8;
  static constexpr int kAcc = kFragM * kFragN * 4;
  static constexpr int kGroups = kStageWords / V;  // loads of V words per row and stage
  static constexpr int kXLoads = BM * kGroups / kThreadsPerBlock;
  static constexpr int kWLoads = (BN * kGroups + kThreadsPerBlock - 1) / kThreadsPerBlock;
  static_assert(kWarpsM * kWarpsN == 8 && kFragM >= 1 && kFragN >= 1);
  static_assert(kThreadsPerBlock % BM == 0 && kXLoads >= 1 && (BM * kGroups) % kThreadsPerBlock == 0);
  static_assert(kThreadsPerBlock % BN == 0 && (BM + kPad) % 32 % 16 == 8 && (BN + kPad) % 32 % 16 == 8);
  using Vec = std::conditional_t<V == 4, int4, int32_t>;
};

template <typename Vec>
__device__ __forceinline__ void unpack(const Vec& v, int32_t* words) {
  if constexpr (std::is_same_v<Vec, int4>) {
    words[0] = v.x, words[1] = v.y, words[2] = v.z, words[3] = v.w;
  } else {
    words[0] = v;
  }
}

// Words [0, V) of 4 channels at element offset i of the float input: quantized as a
// QuantizeLinear would, channel j in byte j.
template <typename T, int V>
__device__ __forceinline__ void load_quantized(const QConvInt8Args& a, int64_t i, int32_t* words) {
  struct alignas(4 * sizeof(T)) Quad {
    T v[4];
  };
  const Quad* p = reinterpret_cast<const Quad*>(static_cast<const T*>(a.x_float) + i);
#pragma unroll
  for (int j = 0; j < V; ++j) {
    const Quad q = p[j];
    uint32_t w = 0;
#pragma unroll
    for (int b = 0; b < 4; ++b)
      w |= uint32_t(uint8_t(quantize_int8(to_float(q.v[b]), a.x_quantize_scale, a.x_quantize_zero_point))) << (8 * b);
    words[j] = int32_t(w);
  }
}

template <typename T, int BM, int BN, int kWarpsM, int V, bool kFloatIn>
__global__ void __launch_bounds__(kThreadsPerBlock) qconv_mma_kernel(QConvInt8Args a) {
  using Tl = Tile<BM, BN, kWarpsM, V>;
  using Vec = typename Tl::Vec;
  __shared__ __align__(16) int32_t xs[2][kStageWords][BM + kPad];
  __shared__ __align__(16) int32_t ws[2][kStageWords][BN + kPad];
  const ConvShape& s = a.s;
  const int tid = threadIdx.x;
  const int64_t group = blockIdx.z;
  const int64_t cg = s.c / s.groups, kg = s.k / s.groups;
  const int words = int(cg / 4), taps = int(s.r * s.s), total_words = taps * words;
  const int stages = (total_words + kStageWords - 1) / kStageWords;
  const int64_t pixels = s.n * s.oh * s.ow;
  const int64_t p0 = int64_t(blockIdx.x) * BM, k0 = int64_t(blockIdx.y) * BN;

  // This thread loads pixel row x_row (word groups x_group0 + i * kThreadsPerBlock / BM) and
  // channel row w_row (word groups w_group0 + i * kThreadsPerBlock / BN, while < kGroups).
  const int x_row = tid % BM, x_group0 = tid / BM;
  const int w_row = tid % BN, w_group0 = tid / BN;
  const int64_t m = p0 + x_row;
  const bool pixel_ok = m < pixels;
  const int64_t mm = pixel_ok ? m : 0;
  const int64_t img = mm / (s.oh * s.ow);
  const int64_t iy0 = (mm / s.ow) % s.oh * s.sh - s.ph, ix0 = mm % s.ow * s.sw - s.pw;
  const int64_t x_group_offset = group * cg;
  const bool channel_ok = k0 + w_row < kg;
  const int8_t* w_base = a.w + (group * kg + (channel_ok ? k0 + w_row : 0)) * total_words * 4;
  const int32_t zero_word = int32_t(uint32_t(uint8_t(int8_t(a.x_zero_point))) * 0x01010101u);

  int32_t xr[Tl::kXLoads][V], wr[Tl::kWLoads][V];
  auto load = [&](int stage) {
#pragma unroll
    for (int i = 0; i < Tl::kXLoads; ++i) {
      const int kw = stage * kStageWords + (x_group0 + i * (kThreadsPerBlock / BM)) * V;
      int32_t fill = 0;  // outside the image: the zero point; beyond the pixels or the reduction: 0
      if (pixel_ok && kw < total_words) {
        const int tap = kw / words, word = kw - tap * words;
        const int r = tap / int(s.s), q = tap - r * int(s.s);
        const int64_t y = iy0 + r * s.dh, x = ix0 + q * s.dw;
        if (y >= 0 && y < s.h && x >= 0 && x < s.w) {
          const int64_t at = ((img * s.h + y) * s.w + x) * s.c + x_group_offset + word * 4;
          if constexpr (kFloatIn) load_quantized<T, V>(a, at, xr[i]);
          else unpack(*reinterpret_cast<const Vec*>(a.x + at), xr[i]);
          continue;
        }
        fill = zero_word;
      }
#pragma unroll
      for (int j = 0; j < V; ++j) xr[i][j] = fill;
    }
#pragma unroll
    for (int i = 0; i < Tl::kWLoads; ++i) {
      const int g = w_group0 + i * (kThreadsPerBlock / BN), kw = stage * kStageWords + g * V;
      Vec v{};
      if (g < Tl::kGroups && channel_ok && kw < total_words) v = __ldg(reinterpret_cast<const Vec*>(w_base + kw * 4));
      unpack(v, wr[i]);
    }
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < Tl::kXLoads; ++i)
#pragma unroll
      for (int j = 0; j < V; ++j) xs[buf][(x_group0 + i * (kThreadsPerBlock / BM)) * V + j][x_row] = xr[i][j];
#pragma unroll
    for (int i = 0; i < Tl::kWLoads; ++i) {
      const int g = w_group0 + i * (kThreadsPerBlock / BN);
      if (g < Tl::kGroups)
#pragma unroll
        for (int j = 0; j < V; ++j) ws[buf][g * V + j][w_row] = wr[i][j];
    }
  };

  const int warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
  const int pm = (warp % kWarpsM) * (BM / kWarpsM), cn = (warp / kWarpsM) * (BN / Tl::kWarpsN);
  int32_t acc[Tl::kAcc] = {};

  load(0);
  store(0);
  __syncthreads();
  for (int stage = 0; stage < stages; ++stage) {
    const int buf = stage % 2;
    if (stage + 1 < stages) load(stage + 1);
#if __CUDA_ARCH__ >= 800
#pragma unroll
    for (int ks = 0; ks < kStageWords; ks += 8) {
      int32_t af[Tl::kFragM][4], bf[Tl::kFragN][2];
#pragma unroll
      for (int f = 0; f < Tl::kFragM; ++f) {
        const int p = pm + f * 16 + g;
        af[f][0] = xs[buf][ks + t][p];
        af[f][1] = xs[buf][ks + t][p + 8];
        af[f][2] = xs[buf][ks + t + 4][p];
        af[f][3] = xs[buf][ks + t + 4][p + 8];
      }
#pragma unroll
      for (int f = 0; f < Tl::kFragN; ++f) {
        bf[f][0] = ws[buf][ks + t][cn + f * 8 + g];
        bf[f][1] = ws[buf][ks + t + 4][cn + f * 8 + g];
      }
#pragma unroll
      for (int fm = 0; fm < Tl::kFragM; ++fm)
#pragma unroll
        for (int fn = 0; fn < Tl::kFragN; ++fn) {
          int32_t* c = &acc[(fm * Tl::kFragN + fn) * 4];
          asm volatile(
              "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
              "{%0,%1,%2,%3};\n"
              : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
              : "r"(af[fm][0]), "r"(af[fm][1]), "r"(af[fm][2]), "r"(af[fm][3]), "r"(bf[fn][0]), "r"(bf[fn][1]));
        }
    }
#else
    __trap();  // launched only on GPUs of compute capability 8.0 and later
#endif
    if (stage + 1 < stages) store(1 - buf);
    __syncthreads();
  }

#pragma unroll
  for (int fm = 0; fm < Tl::kFragM; ++fm)
#pragma unroll
    for (int fn = 0; fn < Tl::kFragN; ++fn)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int64_t mo = p0 + pm + fm * 16 + g + (i >= 2 ? 8 : 0), k = k0 + cn + fn * 8 + 2 * t + (i % 2);
        if (mo >= pixels || k >= kg) continue;
        const int64_t kk = group * kg + k;
        qconv_store<T>(a, mo, kk, acc[(fm * Tl::kFragN + fn) * 4 + i] - a.x_zero_point * a.w_sum[kk]);
      }
}

template <int BM, int BN, int kWarpsM>
Status launch_tile(const QConvInt8Args& a, cudaStream_t stream) {
  const ConvShape& s = a.s;
  const int64_t pixels = s.n * s.oh * s.ow, kg = s.k / s.groups;
  const int64_t blocks_p = (pixels + BM - 1) / BM, blocks_k = (kg + BN - 1) / BN;
  if (blocks_p > INT32_MAX || blocks_k > 65535 || s.groups > 65535)
    return error(StatusCode::kUnsupported, "qconv_int8: ", pixels, " pixels x ", kg, " channels x ", s.groups,
                 " groups exceed the launch grid");
  const dim3 grid(unsigned(blocks_p), unsigned(blocks_k), unsigned(s.groups));
  const bool vec16 = (s.c / s.groups) % 16 == 0, float_in = a.x_float != nullptr;
  dispatch_float(a.float_type, [&](auto t) {
    using T = decltype(t);
    if (vec16 && float_in) qconv_mma_kernel<T, BM, BN, kWarpsM, 4, true><<<grid, kThreadsPerBlock, 0, stream>>>(a);
    else if (vec16) qconv_mma_kernel<T, BM, BN, kWarpsM, 4, false><<<grid, kThreadsPerBlock, 0, stream>>>(a);
    else if (float_in) qconv_mma_kernel<T, BM, BN, kWarpsM, 1, true><<<grid, kThreadsPerBlock, 0, stream>>>(a);
    else qconv_mma_kernel<T, BM, BN, kWarpsM, 1, false><<<grid, kThreadsPerBlock, 0, stream>>>(a);
  });
  return launch_status("qconv_int8 (mma)");
}

}  // namespace

Status launch_qconv_int8_mma(const QConvInt8Args& a, cudaStream_t stream) {
  switch (a.kernel) {
    case QConvInt8Kernel::kMma128x64: return launch_tile<128, 64, 4>(a, stream);
    case QConvInt8Kernel::kMma64x64: return launch_tile<64, 64, 4>(a, stream);
    case QConvInt8Kernel::kMma128x32: return launch_tile<128, 32, 8>(a, stream);
    case QConvInt8Kernel::kMma128x16: return launch_tile<128, 16, 8>(a, stream);
    default: return error(StatusCode::kInternal, "qconv_int8: not a tensor-core kernel");
  }
}

}  // namespace kiln::cuda
