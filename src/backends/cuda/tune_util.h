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
// on the GPU).
Result<double> min_time_ms(cudaStream_t stream, const std::function<Status()>& run);

}  // namespace kiln::cuda
