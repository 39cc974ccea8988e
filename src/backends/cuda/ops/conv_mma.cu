// The FP16 conv of conv_mma.h: the implicit GEMM of implicit_gemm_mma.cuh on half words
// (mma.sync m16n8k16 f16, FP32 accumulators), bias and activation applied to each
// accumulator, each thread storing 8 contiguous halves of one pixel's outputs.
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/ops/implicit_gemm_mma.cuh"

namespace kiln::cuda {
namespace {

using mma::kThreadsPerBlock;
using mma::Pack;

struct ConvOp {
  using Args = ConvMmaArgs;
  using Acc = float;
  static constexpr int kElemBytes = 2;
  static constexpr int kMinBlocksPerSM = 2;
  __device__ static const char* x(const Args& a) { return static_cast<const char*>(a.x); }
  __device__ static const char* w(const Args& a) { return static_cast<const char*>(a.w); }
  __device__ static int32_t fill_word(const Args&) { return 0; }  // two half zeros
  __device__ static void mma(float* c, const uint32_t (&af)[4], const uint32_t (&bf)[2]) {
    mma::mma_f16(c, af, bf);
  }
  template <int BM, int BN>
  __device__ static void store_tile(const Args& a, const float* acc, int64_t p0, int64_t k0, int64_t group) {
    constexpr int E = 8;
    const mma::OutputRun run = mma::output_run<BN, E>(a.s, k0, group);
    float bias[E];  // the run's, read once
#pragma unroll
    for (int e = 0; e < E; ++e) bias[e] = e < run.n ? a.bias[run.k + e] : 0.f;
    mma::for_each_run_pixel<BM, BN, E>(a.s, p0, run, [&](int at, int64_t pixel) {
      const float* v = acc + at;
      __half* y = static_cast<__half*>(a.y) + pixel * a.s.k + run.k;
      if (run.n < E || !aligned16(y)) {
#pragma unroll
        for (int e = 0; e < E; ++e)  // unrolled, so that bias stays in registers
          if (e < run.n) y[e] = __float2half_rn(activate(v[e] + bias[e], a.act));
        return;
      }
      Pack<__half, E> out;
#pragma unroll
      for (int e = 0; e < E; ++e) out.v[e] = __float2half_rn(activate(v[e] + bias[e], a.act));
      *reinterpret_cast<int4*>(y) = *reinterpret_cast<const int4*>(&out);
    });
  }
};

}  // namespace

bool mma_kernels_available() {
  int device = 0, major = 0;
  return cudaGetDevice(&device) == cudaSuccess &&
         cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess && major >= 8;
}

bool conv_mma_fp16_fits(const ConvShape& s) {
  return s.groups > 0 && s.c % s.groups == 0 && s.k % s.groups == 0 && (s.c / s.groups) % 2 == 0 && s.sh > 0 &&
         s.sw > 0 && s.dh > 0 && s.dw > 0 && s.r > 0 && s.s > 0 && s.h * s.w <= INT32_MAX;
}

const char* mma_tile_name(MmaTile tile) {
  switch (tile) {
    case MmaTile::k128x64: return "128x64";
    case MmaTile::k64x64: return "64x64";
    case MmaTile::k128x32: return "128x32";
    case MmaTile::k128x16: return "128x16";
  }
  return "unknown";
}

Status launch_conv_mma_fp16(const ConvMmaArgs& a, cudaStream_t stream) {
  if (a.s.n * a.s.oh * a.s.ow * a.s.k == 0) return Status::Ok();
  const bool vec16 = (a.s.c / a.s.groups) % 8 == 0 && reinterpret_cast<uintptr_t>(a.x) % 16 == 0;
  return mma::launch_mma_tile(a.tile, a.s, "conv_mma_fp16", [&]<int BM, int BN, int kWarpsM>(dim3 grid) {
    if (vec16)
      launch_kernel(mma::implicit_gemm_kernel<ConvOp, BM, BN, kWarpsM, 4>, grid, kThreadsPerBlock, 0, stream, a);
    else
      launch_kernel(mma::implicit_gemm_kernel<ConvOp, BM, BN, kWarpsM, 1>, grid, kThreadsPerBlock, 0, stream, a);
  });
}

}  // namespace kiln::cuda
