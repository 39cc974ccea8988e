// What tactic tuning needs on the GPU at build time, shared by the conv (cuDNN plans) and
// MatMul (cuBLASLt algorithms) planners: scratch operands and a timer for one candidate.
#pragma once

#include <cuda_runtime.h>

#include <functional>
#include <vector>

#include "kiln/status.h"

namespace kiln::cuda {

// Device scratch for timing candidates, filled with a non-zero pattern (zeros can run
// faster than real data); freed with the object.
class TuneScratch {
 public:
  TuneScratch() = default;
  TuneScratch(const TuneScratch&) = delete;
  TuneScratch& operator=(const TuneScratch&) = delete;
  ~TuneScratch();
  Result<void*> alloc(size_t bytes);

 private:
  std::vector<void*> ptrs_;
};

// GPU time of `run` (which enqueues one candidate's work on `stream`): the minimum of five
// event-timed runs after one warm-up run (the minimum is the least disturbed by other work
// on the GPU), each enqueued behind a kernel that keeps the GPU busy, so that the host's
// cost of launching the run is not timed.
Result<double> min_time_ms(cudaStream_t stream, const std::function<Status()>& run);

// Keeps the GPU busy for 40 us from when it reaches this point of `stream`, so that the host
// enqueues what follows before the GPU gets there: events around it then time it on the GPU
// alone. Without it, a small candidate's time includes the host's cost of launching it (a
// cuDNN plan's execute costs more than one kernel launch), which a CUDA graph replay never
// pays, and tuning prefers whatever launches cheapest.
Status keep_gpu_busy(cudaStream_t stream);

}  // namespace kiln::cuda
