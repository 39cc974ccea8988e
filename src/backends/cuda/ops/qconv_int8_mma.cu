// QConvInt8's tensor-core kernel: an implicit GEMM, output pixels x output channels (of one
// group), reduced over taps x input channels flattened into one sequence of 4-channel words
// (KRSC weights make it contiguous per output channel), so that a layer of 16 input channels
// fills whole stages with several taps. A stage is 16 words (64 bytes) of the sequence per
// pixel and per output channel; kStages of them are in flight in shared memory, copied there
// by cp.async (16 bytes, or 4 where a group's channel count is not a multiple of 16), one
// barrier per stage. Taps in the padding read the zero point, stored into shared memory
// directly, so the raw sum covers every tap and acc = raw - zp * sum(w), exact in int32. The
// input is int8, or the float tensor of a QuantizeLinear folded into the loads (the same
// quantization, without the int8 tensor's round trip through memory): that one goes through
// registers, quantized, and is stored after the stage's mma work; all else is shared.
//
// Shared memory is [pixel][64 bytes] and [channel][64 bytes], the four 16-byte chunks of a
// row permuted by XOR with bits 1-2 of the row, so that the 8 rows x 16 bytes that one
// ldmatrix phase reads, and the 2 rows x 64 bytes that 8 consecutive threads' 16-byte copies
// write, fall in distinct banks (the 4-byte copies conflict 4-way). mma.sync m16n8k32 s8
// fragments (PTX ISA, "Matrix fragments for mma.m16n8k32"), g = lane / 4, t = lane % 4:
// A a0 = (pixel g, bytes 4t..4t+3 of the k step), a1 = pixel g + 8, a2, a3 the same at bytes
// 16 + 4t; B b0 = (channel g, bytes 4t..), b1 at 16 + 4t; C c0, c1 = (pixel g, channels 2t,
// 2t + 1), c2, c3 = pixel g + 8. An ldmatrix 8x8 b16 matrix is 8 rows x 16 bytes and gives
// lane i row i / 4, bytes 4 (i % 4)..: exactly those fragments, one x4 per A tile and one per
// pair of B tiles. The epilogue passes the accumulators through shared memory so that each
// thread stores 16 contiguous bytes of one pixel's outputs (16 int8, 8 halves or 4 floats)
// and reads its residual likewise.
#include <algorithm>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/ops/qconv_int8_device.cuh"

namespace kiln::cuda {
namespace {

constexpr int kThreadsPerBlock = 256;       // 8 warps
constexpr int kStages = 4;                  // reduction stages in flight in shared memory
constexpr int kStageWords = 16;             // 4-channel words of the reduction per stage
constexpr int kRowBytes = kStageWords * 4;  // a pixel's or an output channel's bytes of one stage
constexpr int kAccPad = 8;                  // int32s of padding per epilogue row: conflict-free int2 stores

// A block tile of BM pixels x BN channels, its 8 warps kWarpsM x kWarpsN, each warp
// kFragM x kFragN m16n8 tiles. Each thread loads one 16-byte chunk of a stage's row for rows
// kRowStep apart: kXLoads pixel rows, kWLoads channel rows (while < BN).
template <int BM, int BN, int kWarpsM>
struct Tile {
  static constexpr int kWarpsN = 8 / kWarpsM;
  static constexpr int kFragM = BM / kWarpsM / 16, kFragN = BN / kWarpsN / 8;
  static constexpr int kAcc = kFragM * kFragN * 4;
  static constexpr int kRowStep = kThreadsPerBlock / (kRowBytes / 16);
  static constexpr int kXLoads = BM / kRowStep;
  static constexpr int kWLoads = (BN + kRowStep - 1) / kRowStep;
  static constexpr int kXBytes = BM * kRowBytes, kWBytes = BN * kRowBytes;  // one stage's
  static constexpr int kAccStride = BN + kAccPad;
  static constexpr int kSmemBytes = std::max(kStages * (kXBytes + kWBytes), BM * kAccStride * 4);
  static_assert(kWarpsM * kWarpsN == 8 && kFragM >= 1 && kFragN % 2 == 0);  // B tiles read in pairs
  static_assert(BM % kRowStep == 0 && kRowStep % 8 == 0);  // a thread's rows share their swizzle
  static_assert(kSmemBytes <= 48 * 1024);                   // static shared memory
};

// Byte offset of word `word` (of kStageWords) of row `row` in a [row][kRowBytes] stage: its
// 16-byte chunk XOR bits 1-2 of the row.
__device__ __forceinline__ uint32_t swizzle(int row, int word) {
  return uint32_t(row * kRowBytes + (((word >> 2) ^ (row >> 1 & 3)) << 4) + (word & 3) * 4);
}

template <int kBytes>
__device__ __forceinline__ void cp_async(uint32_t dst, const void* src) {
  if constexpr (kBytes == 16) asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src));
  else asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(dst), "l"(src));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3, uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}

// Words [0, V) at shared byte offset `at`.
template <int V>
__device__ __forceinline__ void store_words(int8_t* smem, uint32_t at, const int32_t* words) {
  if constexpr (V == 4) *reinterpret_cast<int4*>(smem + at) = make_int4(words[0], words[1], words[2], words[3]);
  else *reinterpret_cast<int32_t*>(smem + at) = words[0];
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

// E values of type U, 16-byte aligned, so that they move as 16-byte vectors.
template <typename U, int E>
struct alignas(16) Pack {
  U v[E];
};

// Stores the block's outputs (dtype O: int8, or T) from their raw accumulators in shared
// memory (acc: [BM][BN + kAccPad]): each thread 16 bytes of one pixel's outputs at a time,
// consecutive threads along the pixel's channels, with the residual read as 16-byte vectors
// too; element by element where the 16 bytes are not all outputs or not aligned (channel
// counts not a multiple of the vector, an output placed in a Concat buffer).
template <typename O, typename T, int BM, int BN>
__device__ __forceinline__ void store_tile(const QConvInt8Args& a, const int32_t* acc, int64_t p0, int64_t k0,
                                           int64_t group) {
  constexpr int E = 16 / sizeof(O), kVecs = BN / E, kStride = BN + kAccPad;
  static_assert(BN % E == 0);
  const ConvShape& s = a.s;
  const int64_t pixels = s.n * s.oh * s.ow, kg = s.k / s.groups;
  for (int i = threadIdx.x; i < BM * kVecs; i += kThreadsPerBlock) {
    const int row = i / kVecs, col = i % kVecs * E;
    const int64_t pixel = p0 + row, kc = k0 + col;
    if (pixel >= pixels || kc >= kg) continue;
    const int64_t k = group * kg + kc;
    const int32_t* raw = acc + row * kStride + col;
    O* y = static_cast<O*>(a.y) + pixel * a.y_pixel_stride + k;
    const T* res = a.residual ? static_cast<const T*>(a.residual) + pixel * s.k + k : nullptr;
    if (kc + E > kg || !aligned16(y) || (res && !aligned16(res))) {
      for (int e = 0; e < E && kc + e < kg; ++e) qconv_store<T>(a, pixel, k + e, raw[e] - a.x_zero_point * a.w_sum[k + e]);
      continue;
    }
    Pack<T, E> r;
    if (res)
#pragma unroll
      for (int j = 0; j < int(sizeof(r)) / 16; ++j) reinterpret_cast<int4*>(&r)[j] = reinterpret_cast<const int4*>(res)[j];
    Pack<int32_t, E> in;
#pragma unroll
    for (int j = 0; j < E / 4; ++j) reinterpret_cast<int4*>(&in)[j] = reinterpret_cast<const int4*>(raw)[j];
    Pack<O, E> out;
#pragma unroll
    for (int e = 0; e < E; ++e)
      out.v[e] = qconv_output<O>(
          a, qconv_epilogue(a, k + e, in.v[e] - a.x_zero_point * a.w_sum[k + e], res ? to_float(r.v[e]) : 0.f));
    *reinterpret_cast<int4*>(y) = *reinterpret_cast<const int4*>(&out);
  }
}

// T: the float dtype (residual, float output, kFloatIn's input); V: words per copy (4 when the
// group's channel count is a multiple of 16, else 1); kFloatIn: x is the float input of a
// folded QuantizeLinear.
template <typename T, int BM, int BN, int kWarpsM, int V, bool kFloatIn>
__global__ void __launch_bounds__(kThreadsPerBlock, 2) qconv_mma_kernel(QConvInt8Args a) {
#if __CUDA_ARCH__ >= 800
  using Tl = Tile<BM, BN, kWarpsM>;
  __shared__ __align__(128) int8_t smem[Tl::kSmemBytes];  // kStages x stages, then kStages w stages
  const uint32_t smem_at = uint32_t(__cvta_generic_to_shared(smem));
  const ConvShape& s = a.s;
  const int tid = threadIdx.x;
  const int64_t group = blockIdx.z;
  const int64_t cg = s.c / s.groups, kg = s.k / s.groups;
  const int words = int(cg / 4), taps_r = int(s.r), taps_s = int(s.s), total_words = taps_r * taps_s * words;
  const int stages = (total_words + kStageWords - 1) / kStageWords;
  const int64_t pixels = s.n * s.oh * s.ow;
  const int64_t p0 = int64_t(blockIdx.x) * BM, k0 = int64_t(blockIdx.y) * BN;

  // This thread loads chunk word0 / 4 of each stage for pixel and channel rows row0 + i *
  // kRowStep: one 16-byte copy (V = 4: a chunk never straddles two taps), or V = 1 four
  // 4-byte ones, each word at its own tap. (r, q, word) is where word0 of the next stage to
  // load lies in the sequence (tap row, tap column, word of the tap), moved on by (dr, dq,
  // dw) and carries each stage.
  const int word0 = tid % (kRowBytes / 16) * 4, row0 = tid / (kRowBytes / 16);
  const int dt = kStageWords / words, dw = kStageWords % words, dq = dt % taps_s, dr = dt / taps_s;
  int word = word0 % words, q = word0 / words % taps_s, r = word0 / words / taps_s;
  const uint32_t row_at = swizzle(row0, word0);  // and + i * kRowStep rows: the same swizzle

  // Each pixel row's window origin (rows beyond the pixels load pixel 0: their outputs are
  // not stored), as the element offset of its top-left tap, which may lie in the padding.
  int64_t x_origin[Tl::kXLoads];
  int x_y0[Tl::kXLoads], x_x0[Tl::kXLoads];
#pragma unroll
  for (int i = 0; i < Tl::kXLoads; ++i) {
    const int64_t m = p0 + row0 + i * Tl::kRowStep, mm = m < pixels ? m : 0;
    const int64_t img = mm / (s.oh * s.ow);
    x_y0[i] = int(mm / s.ow % s.oh * s.sh - s.ph);
    x_x0[i] = int(mm % s.ow * s.sw - s.pw);
    x_origin[i] = ((img * s.h + x_y0[i]) * s.w + x_x0[i]) * s.c + group * cg;
  }
  // Each channel row's weights at word0 (rows beyond the group's channels load its first).
  const int8_t* w_src[Tl::kWLoads];
#pragma unroll
  for (int i = 0; i < Tl::kWLoads; ++i) {
    const int64_t k = k0 + row0 + i * Tl::kRowStep;
    w_src[i] = a.w + ((group * kg + (k < kg ? k : 0)) * total_words + word0) * 4;
  }
  const int32_t zero_word = int32_t(uint32_t(uint8_t(int8_t(a.x_zero_point))) * 0x01010101u);

  int32_t xr[Tl::kXLoads][4];  // kFloatIn: a stage's quantized chunks until stored
  // Starts loading the next stage into buffer buf: cp.async, or (kFloatIn) x into xr; words
  // in the padding the zero point, beyond the reduction 0.
  auto load = [&](int buf) {
    int pw = word, pq = q, pr = r;  // the position of word word0 + j
#pragma unroll
    for (int j = 0; j < 4; j += V) {
      const bool live = pr < taps_r;
      const int dy = pr * int(s.dh), dx = pq * int(s.dw);
      const int64_t tap_at = (dy * s.w + dx) * s.c + pw * 4;
      int32_t fill[V];
#pragma unroll
      for (int v = 0; v < V; ++v) fill[v] = live ? zero_word : 0;
#pragma unroll
      for (int i = 0; i < Tl::kXLoads; ++i) {
        const uint32_t at = buf * Tl::kXBytes + row_at + i * Tl::kRowStep * kRowBytes + j * 4;
        const int y = x_y0[i] + dy, x = x_x0[i] + dx;
        const bool inside = unsigned(y) < unsigned(s.h) && unsigned(x) < unsigned(s.w);
        if constexpr (kFloatIn) {
          if (live && inside) load_quantized<T, V>(a, x_origin[i] + tap_at, &xr[i][j]);
          else
#pragma unroll
            for (int v = 0; v < V; ++v) xr[i][j + v] = fill[v];
        } else {
          if (live && inside) cp_async<V * 4>(smem_at + at, a.x + x_origin[i] + tap_at);
          else store_words<V>(smem, at, fill);
        }
      }
#pragma unroll
      for (int i = 0; i < Tl::kWLoads; ++i) {
        if (BN % Tl::kRowStep && row0 + i * Tl::kRowStep >= BN) break;
        const uint32_t at = kStages * Tl::kXBytes + buf * Tl::kWBytes + row_at + i * Tl::kRowStep * kRowBytes + j * 4;
        const int32_t zeros[V] = {};
        if (live) cp_async<V * 4>(smem_at + at, w_src[i] + j * 4);
        else store_words<V>(smem, at, zeros);
      }
      if (V == 1 && ++pw == words) {
        pw = 0;
        if (++pq == taps_s) pq = 0, ++pr;
      }
    }
#pragma unroll
    for (int i = 0; i < Tl::kWLoads; ++i) w_src[i] += kRowBytes;
    word += dw, q += dq, r += dr;
    if (word >= words) word -= words, ++q;
    if (q >= taps_s) q -= taps_s, ++r;
  };
  // kFloatIn: stores the quantized chunks of the stage that load() started into buffer buf.
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < Tl::kXLoads; ++i)
      store_words<4>(smem, buf * Tl::kXBytes + row_at + i * Tl::kRowStep * kRowBytes, xr[i]);
  };

  const int warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
  const int pm = (warp % kWarpsM) * (BM / kWarpsM), cn = (warp / kWarpsM) * (BN / Tl::kWarpsN);
  // This lane's ldmatrix row and 16-byte chunk (of a 32-byte k step): A matrices pixels 0-7,
  // 8-15 x bytes 0-15, then 16-31; B channels 0-7 x bytes 0-15, 16-31, then the next 8 channels.
  const int a_row = pm + lane % 16, a_word = lane / 16 * 4;
  const int b_row = cn + lane / 16 * 8 + lane % 8, b_word = lane / 8 % 2 * 4;
  int32_t acc[Tl::kAcc] = {};
  auto compute = [&](int buf) {
    const uint32_t xs = smem_at + buf * Tl::kXBytes, ws = smem_at + kStages * Tl::kXBytes + buf * Tl::kWBytes;
#pragma unroll
    for (int ks = 0; ks < kStageWords; ks += 8) {
      uint32_t af[Tl::kFragM][4], bf[Tl::kFragN][2];
#pragma unroll
      for (int f = 0; f < Tl::kFragM; ++f)
        ldmatrix_x4(af[f][0], af[f][1], af[f][2], af[f][3], xs + swizzle(a_row + f * 16, ks + a_word));
#pragma unroll
      for (int f = 0; f < Tl::kFragN; f += 2)
        ldmatrix_x4(bf[f][0], bf[f][1], bf[f + 1][0], bf[f + 1][1], ws + swizzle(b_row + f * 8, ks + b_word));
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
  };

  // Stage i lives in buffer i % kStages; at each step one cp.async group is committed (empty
  // past the end), so waiting until kStages - 2 are pending means this stage's has landed,
  // and the barrier also frees the buffer that the previous step read for the next load.
#pragma unroll
  for (int i = 0; i < kStages - 1; ++i) {
    if (i < stages) {
      load(i);
      if constexpr (kFloatIn) store(i);
    }
    cp_async_commit();
  }
  for (int stage = 0; stage < stages; ++stage) {
    cp_async_wait<kStages - 2>();
    __syncthreads();
    const int next = stage + kStages - 1;
    if (next < stages) load(next % kStages);
    cp_async_commit();
    compute(stage % kStages);
    if constexpr (kFloatIn)
      if (next < stages) store(next % kStages);
  }

  // The stage buffers become the accumulator tile.
  cp_async_wait<0>();
  __syncthreads();
  int32_t* acc_tile = reinterpret_cast<int32_t*>(smem);
#pragma unroll
  for (int fm = 0; fm < Tl::kFragM; ++fm)
#pragma unroll
    for (int fn = 0; fn < Tl::kFragN; ++fn) {
      const int32_t* c = &acc[(fm * Tl::kFragN + fn) * 4];
      int32_t* out = acc_tile + (pm + fm * 16 + g) * Tl::kAccStride + cn + fn * 8 + 2 * t;
      *reinterpret_cast<int2*>(out) = make_int2(c[0], c[1]);
      *reinterpret_cast<int2*>(out + 8 * Tl::kAccStride) = make_int2(c[2], c[3]);
    }
  __syncthreads();
  if (a.int8_output) store_tile<int8_t, T, BM, BN>(a, acc_tile, p0, k0, group);
  else store_tile<T, T, BM, BN>(a, acc_tile, p0, k0, group);
#else
  __trap();  // launched only on GPUs of compute capability 8.0 and later
#endif
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
