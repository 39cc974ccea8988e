// The tensor-core implicit GEMM of QConvInt8 (qconv_int8_mma.cu: int8, mma.sync s8) and of
// the FP16 conv (conv_mma.cu: mma.sync f16, FP32 accumulators): output pixels x output
// channels (of one group) per block, reduced over taps x input channels flattened into one
// sequence of 4-byte words (4 int8 or 2 half channels; KRSC weights make it contiguous per
// output channel), so that a layer of few input channels fills whole stages with several
// taps. A stage is 16 words (64 bytes) of the sequence per pixel and per output channel;
// kStages of them are in flight in shared memory, copied there by cp.async (16 bytes, or 4
// where a group's channels are not a multiple of 16 bytes), one barrier per stage. Taps in
// the padding read the op's fill word (int8: the zero point, so that the raw sum covers every
// tap; half: zero), stored into shared memory directly.
//
// Shared memory is [pixel][64 bytes] and [channel][64 bytes], the four 16-byte chunks of a
// row permuted by XOR with bits 1-2 of the row, so that the 8 rows x 16 bytes that one
// ldmatrix phase reads, and the 2 rows x 64 bytes that 8 consecutive threads' 16-byte copies
// write, fall in distinct banks (the 4-byte copies conflict 4-way). Both mma shapes read the
// same bytes (PTX ISA, "Matrix fragments for mma.m16n8k32" s8 and "mma.m16n8k16" f16): a k
// step is 32 bytes; g = lane / 4, t = lane % 4: A a0 = (pixel g, bytes 4t..4t+3), a1 = pixel
// g + 8, a2, a3 the same at bytes 16 + 4t; B b0 = (channel g, bytes 4t..), b1 at 16 + 4t; C
// c0, c1 = (pixel g, channels 2t, 2t + 1), c2, c3 = pixel g + 8. An ldmatrix 8x8 b16 matrix
// is 8 rows x 16 bytes and gives lane i row i / 4, bytes 4 (i % 4)..: exactly those
// fragments, one x4 per A tile and one per pair of B tiles. The accumulators then pass
// through shared memory to the op's store_tile, so that each thread stores 16 contiguous
// bytes of one pixel's outputs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/ops/conv_mma.h"

namespace kiln::cuda::mma {

constexpr int kThreadsPerBlock = 256;       // 8 warps
constexpr int kStages = 4;                  // reduction stages in flight in shared memory
constexpr int kStageWords = 16;             // 4-byte words of the reduction per stage
constexpr int kRowBytes = kStageWords * 4;  // a pixel's or an output channel's bytes of one stage
constexpr int kAccPad = 8;                  // accumulators of padding per epilogue row: conflict-free 8-byte stores

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

// c += a * b on tensor cores: mma.sync m16n8k16, FP16 operands, FP32 accumulators (the
// fragment layout above).
__device__ __forceinline__ void mma_f16(float* c, const uint32_t (&af)[4], const uint32_t (&bf)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(af[0]), "r"(af[1]), "r"(af[2]), "r"(af[3]), "r"(bf[0]), "r"(bf[1]));
}

// Words [0, V) at shared byte offset `at`.
template <int V>
__device__ __forceinline__ void store_words(int8_t* smem, uint32_t at, const int32_t* words) {
  if constexpr (V == 4) *reinterpret_cast<int4*>(smem + at) = make_int4(words[0], words[1], words[2], words[3]);
  else *reinterpret_cast<int32_t*>(smem + at) = words[0];
}

// E values of type U, 16-byte aligned, so that they move as 16-byte vectors.
template <typename U, int E>
struct alignas(16) Pack {
  U v[E];
};

// The run of E consecutive output channels that this thread stores for each of its pixels of
// the block's tile at channel k0 of `group` (the same run for every pixel: the block's
// threads are a multiple of BN / E). col: the run's offset in the tile's row; k: its first
// output channel; n: how many lie within the group (< E at the group's end, 0 beyond it).
struct OutputRun {
  int col;
  int64_t k;
  int n;
};
template <int BN, int E>
__device__ __forceinline__ OutputRun output_run(const ConvShape& s, int64_t k0, int64_t group) {
  static_assert(BN % E == 0 && kThreadsPerBlock % (BN / E) == 0);
  const int col = int(threadIdx.x) % (BN / E) * E;
  const int64_t kg = int(s.k) / int(s.groups), kc = k0 + col;
  return {col, group * kg + kc, int(kc >= kg ? 0 : (kg - kc < E ? kg - kc : E))};
}

// Calls f(at, pixel) for each pixel of the block's tile at p0 whose outputs `run` this thread
// stores: at, the run's offset in the accumulator tile ([BM][BN + kAccPad]). Consecutive
// threads take consecutive runs of one pixel, so that their 16-byte stores are contiguous.
template <int BM, int BN, int E, typename F>
__device__ __forceinline__ void for_each_run_pixel(const ConvShape& s, int64_t p0, const OutputRun& run, F&& f) {
  constexpr int kVecs = BN / E, kStride = BN + kAccPad;
  if (run.n == 0) return;
  const int64_t pixels = s.n * s.oh * s.ow;
  for (int row = int(threadIdx.x) / kVecs; row < BM && p0 + row < pixels; row += kThreadsPerBlock / kVecs)
    f(row * kStride + run.col, p0 + row);
}

// The block's BM x BN tile, accumulated on tensor cores, left in shared memory
// (acc: [BM][BN + kAccPad] of Op::Acc) for Op::store_tile. Op, the element and epilogue:
//   Args (with the ConvShape `s`), Acc (int32_t or float), kElemBytes (1 or 2);
//   kMinBlocksPerSM: the blocks an SM should hold at once (registers capped to fit them);
//   x(a), w(a): the NHWC input's and the KRSC weights' bytes; fill_word(a): a padding tap's
//   word; mma(c, a, b): one m16n8 step, c += a * b;
//   store_tile<BM, BN>(a, acc, p0, k0, group): the outputs of the tile at pixel p0, channel k0.
// V: words per copy (4 when a group's channels fill 16-byte chunks, else 1).
template <class Op, int BM, int BN, int kWarpsM, int V>
__global__ void __launch_bounds__(kThreadsPerBlock, Op::kMinBlocksPerSM) implicit_gemm_kernel(typename Op::Args a) {
  begin_kernel();
#if __CUDA_ARCH__ >= 800
  using Tl = Tile<BM, BN, kWarpsM>;
  using Acc = typename Op::Acc;
  static_assert(sizeof(Acc) == 4);
  constexpr int kElemsPerWord = 4 / Op::kElemBytes;
  __shared__ __align__(128) int8_t smem[Tl::kSmemBytes];  // kStages x stages, then kStages w stages
  const uint32_t smem_at = uint32_t(__cvta_generic_to_shared(smem));
  const ConvShape& s = a.s;
  const int tid = threadIdx.x;
  const int64_t group = blockIdx.z;
  const int64_t cg = int(s.c) / int(s.groups), kg = int(s.k) / int(s.groups);  // 32-bit: inline
  const int words = int(cg / kElemsPerWord), taps_r = int(s.r), taps_s = int(s.s), total_words = taps_r * taps_s * words;
  const int stages = (total_words + kStageWords - 1) / kStageWords;
  const int64_t pixels = s.n * s.oh * s.ow;
  const int64_t p0 = int64_t(blockIdx.x) * BM, k0 = int64_t(blockIdx.y) * BN;
  const char* x = Op::x(a);

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
  // Pixel indices fit 32 bits (launch_mma_tile): 32-bit divisions are inline, where 64-bit
  // ones are calls of some 70 instructions each, a large share of a 1x1 conv's block.
  int64_t x_origin[Tl::kXLoads];
  int x_y0[Tl::kXLoads], x_x0[Tl::kXLoads];
  const uint32_t plane = uint32_t(s.oh * s.ow), ow = uint32_t(s.ow);
#pragma unroll
  for (int i = 0; i < Tl::kXLoads; ++i) {
    const int64_t m = p0 + row0 + i * Tl::kRowStep;
    const uint32_t mm = m < pixels ? uint32_t(m) : 0u, img = mm / plane, at = mm - img * plane, oy = at / ow;
    x_y0[i] = int(oy * s.sh - s.ph);
    x_x0[i] = int((at - oy * ow) * s.sw - s.pw);
    x_origin[i] = ((int64_t(img) * s.h + x_y0[i]) * s.w + x_x0[i]) * s.c + group * cg;
  }
  // Each channel row's weights at word0 (rows beyond the group's channels load its first).
  const char* w_src[Tl::kWLoads];
#pragma unroll
  for (int i = 0; i < Tl::kWLoads; ++i) {
    const int64_t k = k0 + row0 + i * Tl::kRowStep;
    w_src[i] = Op::w(a) + ((group * kg + (k < kg ? k : 0)) * total_words + word0) * 4;
  }
  const int32_t fill_word = Op::fill_word(a);

  // Starts loading the next stage into buffer buf by cp.async; words in the padding the fill
  // word, beyond the reduction 0.
  auto load = [&](int buf) {
    int pw = word, pq = q, pr = r;  // the position of word word0 + j
#pragma unroll
    for (int j = 0; j < 4; j += V) {
      const bool live = pr < taps_r;
      const int dy = pr * int(s.dh), dx = pq * int(s.dw);
      const int64_t tap_at = (dy * s.w + dx) * s.c + pw * kElemsPerWord;
      int32_t fill[V];
#pragma unroll
      for (int v = 0; v < V; ++v) fill[v] = live ? fill_word : 0;
#pragma unroll
      for (int i = 0; i < Tl::kXLoads; ++i) {
        const uint32_t at = buf * Tl::kXBytes + row_at + i * Tl::kRowStep * kRowBytes + j * 4;
        const int y = x_y0[i] + dy, xx = x_x0[i] + dx;
        const bool inside = unsigned(y) < unsigned(s.h) && unsigned(xx) < unsigned(s.w);
        if (live && inside) cp_async<V * 4>(smem_at + at, x + (x_origin[i] + tap_at) * Op::kElemBytes);
        else store_words<V>(smem, at, fill);
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
  const int warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
  const int pm = (warp % kWarpsM) * (BM / kWarpsM), cn = (warp / kWarpsM) * (BN / Tl::kWarpsN);
  // This lane's ldmatrix row and 16-byte chunk (of a 32-byte k step): A matrices pixels 0-7,
  // 8-15 x bytes 0-15, then 16-31; B channels 0-7 x bytes 0-15, 16-31, then the next 8 channels.
  const int a_row = pm + lane % 16, a_word = lane / 16 * 4;
  const int b_row = cn + lane / 16 * 8 + lane % 8, b_word = lane / 8 % 2 * 4;
  Acc acc[Tl::kAcc] = {};
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
        for (int fn = 0; fn < Tl::kFragN; ++fn) Op::mma(&acc[(fm * Tl::kFragN + fn) * 4], af[fm], bf[fn]);
    }
  };

  // Stage i lives in buffer i % kStages; at each step one cp.async group is committed (empty
  // past the end), so waiting until kStages - 2 are pending means this stage's has landed,
  // and the barrier also frees the buffer that the previous step read for the next load.
#pragma unroll
  for (int i = 0; i < kStages - 1; ++i) {
    if (i < stages) load(i);
    cp_async_commit();
  }
  for (int stage = 0; stage < stages; ++stage) {
    cp_async_wait<kStages - 2>();
    __syncthreads();
    const int next = stage + kStages - 1;
    if (next < stages) load(next % kStages);
    cp_async_commit();
    compute(stage % kStages);
  }

  // The stage buffers become the accumulator tile.
  using Acc2 = std::conditional_t<std::is_same_v<Acc, float>, float2, int2>;
  cp_async_wait<0>();
  __syncthreads();
  Acc* acc_tile = reinterpret_cast<Acc*>(smem);
#pragma unroll
  for (int fm = 0; fm < Tl::kFragM; ++fm)
#pragma unroll
    for (int fn = 0; fn < Tl::kFragN; ++fn) {
      const Acc* c = &acc[(fm * Tl::kFragN + fn) * 4];
      Acc* out = acc_tile + (pm + fm * 16 + g) * Tl::kAccStride + cn + fn * 8 + 2 * t;
      *reinterpret_cast<Acc2*>(out) = Acc2{c[0], c[1]};
      *reinterpret_cast<Acc2*>(out + 8 * Tl::kAccStride) = Acc2{c[2], c[3]};
    }
  __syncthreads();
  Op::template store_tile<BM, BN>(a, acc_tile, p0, k0, group);
#else
  __trap();  // launched only on GPUs of compute capability 8.0 and later
#endif
}

// Calls launch.template operator()<BM, BN, kWarpsM>(grid) for `tile` (conv_mma.h), after
// checking that the grid fits; `what` names the kernel in the error.
template <typename Launch>
Status launch_mma_tile(MmaTile tile, const ConvShape& s, const char* what, Launch&& launch) {
  auto go = [&]<int BM, int BN, int kWarpsM>() -> Status {
    const int64_t pixels = s.n * s.oh * s.ow, kg = s.k / s.groups;
    const int64_t blocks_p = (pixels + BM - 1) / BM, blocks_k = (kg + BN - 1) / BN;
    if (pixels > UINT32_MAX || blocks_k > 65535 || s.groups > 65535)
      return error(StatusCode::kUnsupported, what, ": ", pixels, " pixels x ", kg, " channels x ", s.groups,
                   " groups exceed the launch grid");
    launch.template operator()<BM, BN, kWarpsM>(dim3(unsigned(blocks_p), unsigned(blocks_k), unsigned(s.groups)));
    return launch_status(what);
  };
  switch (tile) {
    case MmaTile::k128x64: return go.template operator()<128, 64, 4>();
    case MmaTile::k64x64: return go.template operator()<64, 64, 4>();
    case MmaTile::k128x32: return go.template operator()<128, 32, 8>();
    case MmaTile::k128x16: return go.template operator()<128, 16, 8>();
  }
  return error(StatusCode::kInternal, what, ": unknown tile");
}

}  // namespace kiln::cuda::mma
