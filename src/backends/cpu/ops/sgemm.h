// Every float matrix product of the CPU kernels: C = alpha op(A) op(B) + beta C, row-major,
// as cblas_sgemm. OpenBLAS runs single-threaded (set when the first product runs) and a large
// product is split into column blocks over kiln's OpenMP threads instead: OpenBLAS's own
// pthread pool beside libgomp's threads, which spin after each parallel region, put two
// busy threads on every core, and OpenBLAS's threads spend their time in sched_yield. The
// setting is process-wide: other users of the same OpenBLAS in the process (Debian's numpy,
// say) get one thread too.
#pragma once

#include <cstdint>

namespace kiln::cpu::ops {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace kiln::cpu::ops
