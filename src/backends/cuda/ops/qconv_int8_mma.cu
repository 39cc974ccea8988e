// QConvInt8's tensor-core kernel: the implicit GEMM of implicit_gemm_mma.cuh on int8 words
// (mma.sync m16n8k32 s8, int32 accumulators). Taps in the padding read the zero point, so
// the raw sum covers every tap and zp * sum(w) comes off through the bias (qconv_channel).
// The epilogue (qconv_fast_output) stores 16 contiguous bytes of one pixel's outputs per
// thread (16 int8, 8 halves or 4 floats) and reads its residual likewise.
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/ops/implicit_gemm_mma.cuh"
#include "backends/cuda/ops/qconv_int8_device.cuh"

namespace kiln::cuda {
namespace {

using mma::kThreadsPerBlock;
using mma::Pack;

// Stores the block's outputs (dtype O: int8, or T) from their raw accumulators in shared
// memory (acc: [BM][BN + kAccPad]): each thread 16 bytes of one pixel's outputs at a time,
// consecutive threads along the pixel's channels, with the residual read as 16-byte vectors
// too; element by element where the 16 bytes are not all outputs or not aligned (channel
// counts not a multiple of the vector, an output placed in a Concat buffer). A thread's
// channels are the same for each of its pixels, so their constants are read once.
template <typename O, typename T, int BM, int BN>
__device__ __forceinline__ void store_tile_as(const QConvInt8Args& a, const int32_t* acc, int64_t p0, int64_t k0,
                                              int64_t group) {
  constexpr int E = 16 / sizeof(O);
  const mma::OutputRun run = mma::output_run<BN, E>(a.s, k0, group);
  QConvChannel ch[E];
  if (run.n == E && run.k % 4 == 0) {  // 16-byte loads of whole runs
#pragma unroll
    for (int j = 0; j < E / 4; ++j) {
      const float4 sc = __ldg(reinterpret_cast<const float4*>(a.scale + run.k) + j);
      const float4 bi = __ldg(reinterpret_cast<const float4*>(a.raw_bias + run.k) + j);
      ch[4 * j] = {sc.x, bi.x};
      ch[4 * j + 1] = {sc.y, bi.y};
      ch[4 * j + 2] = {sc.z, bi.z};
      ch[4 * j + 3] = {sc.w, bi.w};
    }
  } else {
#pragma unroll
    for (int e = 0; e < E; ++e) ch[e] = qconv_channel(a, e < run.n ? run.k + e : 0);
  }
  mma::for_each_run_pixel<BM, BN, E>(a.s, p0, run, [&](int at, int64_t pixel) {
    const int32_t* raw = acc + at;
    O* y = static_cast<O*>(a.y) + pixel * a.y_pixel_stride + run.k;
    const T* res = a.residual ? static_cast<const T*>(a.residual) + pixel * a.residual_pixel_stride + run.k : nullptr;
    if (run.n < E || !aligned16(y) || (res && !aligned16(res))) {
#pragma unroll
      for (int e = 0; e < E; ++e)  // unrolled, so that ch stays in registers
        if (e < run.n) y[e] = qconv_fast_output<O>(a, ch[e], raw[e], res ? to_float(res[e]) : 0.f);
      return;
    }
    float residual[E] = {};
    if (res) {
      Pack<T, E> r;
#pragma unroll
      for (int j = 0; j < int(sizeof(r)) / 16; ++j) reinterpret_cast<int4*>(&r)[j] = reinterpret_cast<const int4*>(res)[j];
#pragma unroll
      for (int e = 0; e < E; ++e) residual[e] = to_float(r.v[e]);
    }
    Pack<int32_t, E> in;
#pragma unroll
    for (int j = 0; j < E / 4; ++j) reinterpret_cast<int4*>(&in)[j] = reinterpret_cast<const int4*>(raw)[j];
    Pack<O, E> out;
#pragma unroll
    for (int e = 0; e < E; ++e) out.v[e] = qconv_fast_output<O>(a, ch[e], in.v[e], residual[e]);
    *reinterpret_cast<int4*>(y) = *reinterpret_cast<const int4*>(&out);
  });
}

// The int8 element policy of the implicit GEMM; T: the float dtype (residual, float output).
template <typename T>
struct QConvOp {
  using Args = QConvInt8Args;
  using Acc = int32_t;
  static constexpr int kElemBytes = 1;
  // Three blocks of 8 warps: the epilogue bounds these kernels and an SM's schedulers need
  // warps to hide its latency (80 registers, a few spilled; yolo11n INT8 batch 32 on an
  // H100 4.27 -> 4.14 ms against two blocks).
  static constexpr int kMinBlocksPerSM = 3;
  __device__ static const char* x(const Args& a) { return reinterpret_cast<const char*>(a.x); }
  __device__ static const char* w(const Args& a) { return reinterpret_cast<const char*>(a.w); }
  __device__ static int32_t fill_word(const Args& a) {
    return int32_t(uint32_t(uint8_t(int8_t(a.x_zero_point))) * 0x01010101u);
  }
  __device__ static void mma(int32_t* c, const uint32_t (&af)[4], const uint32_t (&bf)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(af[0]), "r"(af[1]), "r"(af[2]), "r"(af[3]), "r"(bf[0]), "r"(bf[1]));
  }
  template <int BM, int BN>
  __device__ static void store_tile(const Args& a, const int32_t* acc, int64_t p0, int64_t k0, int64_t group) {
    if (a.int8_output) store_tile_as<int8_t, T, BM, BN>(a, acc, p0, k0, group);
    else store_tile_as<T, T, BM, BN>(a, acc, p0, k0, group);
  }
};

}  // namespace

Status launch_qconv_int8_mma(const QConvInt8Args& a, cudaStream_t stream) {
  const bool vec16 = (a.s.c / a.s.groups) % 16 == 0;
  return mma::launch_mma_tile(a.tile, a.s, "qconv_int8 (mma)", [&]<int BM, int BN, int kWarpsM>(dim3 grid) {
    dispatch_float(a.float_type, [&](auto t) {
      using Op = QConvOp<decltype(t)>;
      if (vec16)
        launch_kernel(mma::implicit_gemm_kernel<Op, BM, BN, kWarpsM, 4>, grid, kThreadsPerBlock, 0, stream, a);
      else
        launch_kernel(mma::implicit_gemm_kernel<Op, BM, BN, kWarpsM, 1>, grid, kThreadsPerBlock, 0, stream, a);
    });
  });
}

}  // namespace kiln::cuda
