#include "backends/cuda/tune_util.h"

#include <algorithm>

#include "backends/cuda/cuda_check.h"

namespace kiln::cuda {

TuneScratch::~TuneScratch() {
  for (void* p : ptrs_) cudaFree(p);
}

Result<void*> TuneScratch::alloc(size_t bytes) {
  void* p = nullptr;
  KILN_CUDA_TRY(cudaMalloc(&p, std::max<size_t>(bytes, 16)), "tune: cudaMalloc");
  ptrs_.push_back(p);
  KILN_CUDA_TRY(cudaMemset(p, 0x3C, bytes), "tune: cudaMemset");
  return p;
}

Result<double> min_time_ms(cudaStream_t stream, const std::function<Status()>& run) {
  cudaEvent_t a = nullptr, b = nullptr;
  KILN_CUDA_TRY(cudaEventCreate(&a), "cudaEventCreate");
  Status st = cuda_status(cudaEventCreate(&b), "cudaEventCreate");
  double best = 1e30;
  for (int i = 0; i < 6 && st.ok(); ++i) {  // the first run is the warm-up
    st = keep_gpu_busy(stream);
    if (st.ok()) st = cuda_status(cudaEventRecord(a, stream), "cudaEventRecord");
    if (st.ok()) st = run();
    if (st.ok()) st = cuda_status(cudaEventRecord(b, stream), "cudaEventRecord");
    if (st.ok()) st = cuda_status(cudaEventSynchronize(b), "cudaEventSynchronize");
    float ms = 0;
    if (st.ok()) st = cuda_status(cudaEventElapsedTime(&ms, a, b), "cudaEventElapsedTime");
    if (st.ok() && i > 0) best = std::min(best, static_cast<double>(ms));
  }
  cudaEventDestroy(a);
  if (b) cudaEventDestroy(b);
  KILN_RETURN_IF_ERROR(st);
  return best;
}

}  // namespace kiln::cuda
