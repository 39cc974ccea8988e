// What a build is asked for: device, precision, batch profile, input size, workspace, and
// for INT8 the calibration and which layers stay float.
// Part of the engine metadata and of the cache key.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine_signing.h"
#include "engine/environment.h"
#include "ir/model_metadata.h"
#include "kiln/options.h"
#include "kiln/status.h"

namespace kiln::cuda {
class WeightStore;
}  // namespace kiln::cuda

namespace kiln::engine {

using kiln::BatchProfile;
using kiln::parse_batch_profile;
// The batch sizes an engine of `profile` is planned for, ascending: MIN, the powers of two
// and their midpoints (3, 6, 12, 24, ...) between MIN and MAX, OPT and MAX. A request for n
// images runs on the smallest one >= n, or split side by side (batch_splits.h). With steps
// of 1.5x or less, one chunk of the size below n and a small one beside it come within a few
// percent of an engine built for n; steps of 2x left batches such as 28 (padded to 32) 15%
// slower on an H100.
std::vector<int64_t> prepared_batches(const BatchProfile& profile);

// Bounds of the input size a model is built or run for, checked in one place before anything
// is allocated: imgsz 0 (the model's own) or 1..kMaxImgsz, batch 1..kMaxBatch, and
// batch * imgsz^2 <= kMaxBatchPixels (an FP32 input of at most 3 GiB).
inline constexpr int64_t kMaxImgsz = ir::kMaxImgsz;
inline constexpr int64_t kMaxBatch = ir::kMaxMetadataBatch;
inline constexpr int64_t kMaxBatchPixels = int64_t{1} << 28;
Status check_input_size(int64_t imgsz, int64_t batch);

struct BuildOptions;
// Whether the device runs the precision, checked before any device is probed: the CPU
// backend runs fp32 and int8 (InvalidArgument otherwise), CUDA all four.
Status check_precision_for_device(const BuildOptions& options);

struct BuildOptions {
  Device device;
  Precision precision = Precision::kFp32;
  BatchProfile batch;
  int64_t imgsz = 0;        // 0: the model's own (metadata, name or static input)
  // A rectangular input size for a dynamic export (both set), instead of imgsz x imgsz.
  int64_t height = 0, width = 0;
  double workspace_gb = 4;  // cap on the cuDNN / cuBLASLt workspace a tactic may use
  bool verify = true;       // run the built engine and compare with the source model
  // CUDA tuning, not part of what the engine is: candidates timed per conv signature (0:
  // the backend's default) and the timing cache (empty: cuda_timing_cache.tsv in the
  // engine cache directory, found by the same rules).
  // INT8 only: calibration data and method, layers kept float, sensitivity analysis.
  Int8Options int8;
  // Where calibration results are kept (calibration_cache.h); empty: the engine cache's
  // directory by its usual rules.
  std::filesystem::path calibration_cache_dir;
  bool tune = true;  // false: cuDNN's heuristic first choices, untimed and not recorded
  // false: CUDA plans only with kernels that exist before the build (kiln's own and cuDNN's
  // precompiled engines), untimed, no timing cache: a dynamic model's new input size is
  // planned in milliseconds, its engine slower than a tuned one (cuda::BuildOptions).
  bool runtime_compiled_kernels = true;
  // Set: a CUDA build stops with a Cancelled error soon after it turns true (the dynamic-size
  // runner's background builds, when their model closes).
  const std::atomic<bool>* cancel = nullptr;
  // Set: the CUDA engines' device copies of constants come from this store, shared with the
  // other builds of the same model (the dynamic-size runner's input sizes); else a new one.
  std::shared_ptr<cuda::WeightStore> weights;
  int tune_candidates = 0;
  std::filesystem::path timing_cache;
  // Signs the engine file (engine_signing.h); not part of what the engine is either, so a
  // cache entry of the same key without this signature is replaced, not kept beside it.
  std::optional<SigningKey> signing_key;
};

// The options that change the engine (not `verify`), in a canonical form.
nlohmann::json to_json(const BuildOptions& options);

}  // namespace kiln::engine
