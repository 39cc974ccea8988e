// The CUDA side of one engine: a cuda::Engine per prepared batch size of its profile
// (build_options.h: prepared_batches), all sharing one weight store. Made by compile() on
// a GPU, or by load_cuda_engines() from an engine file's recorded plans. CUDA builds only
// define the functions; the type is visible everywhere so the engine layer's structs can
// carry it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "engine/batch_splits.h"
#include "kiln/status.h"

namespace kiln::cuda {
class Engine;
class WeightStore;
}  // namespace kiln::cuda

namespace kiln::engine {

struct Engine;
struct EngineInfo;

struct CudaEngines {
  std::shared_ptr<cuda::WeightStore> weights;
  std::vector<int64_t> batches;                        // ascending
  std::vector<std::shared_ptr<cuda::Engine>> engines;  // one per batch
  BatchSplits splits;  // batches between prepared sizes that run as chunks side by side

  // The engines that run n images side by side (batch_splits.h: chunks_for), by index.
  std::vector<size_t> chunks_for(int64_t n) const { return indices_of(engine::chunks_for(batches, splits, n)); }
  // The engines of prepared batches `chunks`, by index.
  std::vector<size_t> indices_of(const std::vector<int64_t>& chunks) const {
    std::vector<size_t> out;
    for (int64_t b : chunks) out.push_back(static_cast<size_t>(std::find(batches.begin(), batches.end(), b) - batches.begin()));
    return out;
  }
};

// The engines of a CUDA engine file (`engine`, loaded from `path`), each replaying the plan
// recorded for its batch: no tuning, no compiling. Incompatible, naming the reason, when
// the file records no plans (built without a GPU), a recorded plan cannot be restored on
// this GPU / driver / cuDNN, or the replayed plan differs from the recorded one.
Result<std::shared_ptr<CudaEngines>> load_cuda_engines(const std::filesystem::path& path, const Engine& engine);

// Why the inspected CUDA engine file `info` cannot run its recorded plans here (empty when
// it can, when it is no CUDA engine, or when no usable GPU is here to try): only then is the
// file loaded and its plans replayed once, as a load would.
Result<std::string> plans_unrestorable_reason(const EngineInfo& info);

}  // namespace kiln::engine
