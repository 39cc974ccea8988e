// What a build is asked for: device, precision, batch profile, input size, workspace.
// Part of the engine metadata and of the cache key.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/environment.h"
#include "ir/model_metadata.h"
#include "kiln/status.h"

namespace kiln::engine {

struct BatchProfile {
  int64_t min = 1, opt = 1, max = 1;
  std::string to_string() const;  // "1:4:8"
  bool operator==(const BatchProfile&) const = default;
};
// "N" (min = opt = max = N) or "MIN:OPT:MAX" with 1 <= MIN <= OPT <= MAX.
Result<BatchProfile> parse_batch_profile(const std::string& text);

// Bounds of the input size a model is built or run for, checked in one place before anything
// is allocated: imgsz 0 (the model's own) or 1..kMaxImgsz, batch 1..kMaxBatch, and
// batch * imgsz^2 <= kMaxBatchPixels (an FP32 input of at most 3 GiB).
inline constexpr int64_t kMaxImgsz = ir::kMaxImgsz;
inline constexpr int64_t kMaxBatch = ir::kMaxMetadataBatch;
inline constexpr int64_t kMaxBatchPixels = int64_t{1} << 28;
Status check_input_size(int64_t imgsz, int64_t batch);

// fp32 | fp16 | int8.
Status check_precision(const std::string& precision);

struct BuildOptions {
  Device device;
  std::string precision = "fp32";
  BatchProfile batch;
  int64_t imgsz = 0;        // 0: the model's own (metadata, name or static input)
  double workspace_gb = 4;  // scratch memory the CUDA tactic search may use
  bool verify = true;       // run the built engine and compare with the source model
};

// The options that change the engine (not `verify`), in a canonical form.
nlohmann::json to_json(const BuildOptions& options);

}  // namespace kiln::engine
