#include "backends/cpu/ops/sgemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <mutex>

namespace kiln::cpu::ops {

namespace {

// Below this many multiply-adds a product runs in one call: a block per thread would cost
// more in OpenMP's start than it saves.
constexpr int64_t kParallelWork = int64_t{1} << 20;
// Column blocks are multiples of this, so each OpenBLAS call keeps whole vector tiles.
constexpr int64_t kColumnAlign = 16;

void one_call(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
              const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  static std::once_flag single_threaded;
  std::call_once(single_threaded, [] { openblas_set_num_threads(1); });
  if (m <= 0 || n <= 0) return;
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t blocks = std::min(threads, n / kColumnAlign);
  if (blocks <= 1 || m * n * k < kParallelWork) {
    one_call(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // Columns j0..j1 of C take columns j0..j1 of op(B): B's columns, or B's rows when transposed.
  const int64_t width = (n / blocks + kColumnAlign - 1) / kColumnAlign * kColumnAlign;
#pragma omp parallel for schedule(static)
  for (int64_t j0 = 0; j0 < n; j0 += width) {
    const int64_t cols = std::min(width, n - j0);
    one_call(trans_a, trans_b, m, cols, k, alpha, a, lda, b + (trans_b ? j0 * ldb : j0), ldb, beta, c + j0, ldc);
  }
}

}  // namespace kiln::cpu::ops
