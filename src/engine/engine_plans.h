// What a CUDA engine file records of its plans, so that loading it runs exactly the plan
// that was verified at build, without planning choices, tuning or compiling: for each
// prepared input shape of the profile, the steps with their tactics, the memory, and the
// SHA-256 of the plan's structure; and the timing-cache entries (cuDNN's serialized
// execution plans with their compiled kernels, cuBLASLt algorithms) the shapes replay.
// The section is JSON, so `kiln info` reads it in any build; the entries are text in a
// section of their own (engine_format.h): an FP16 engine's are megabytes of base64, which a
// JSON string would make every load parse character by character. A profile's batches
// that run as chunks side by side (batch_splits.h) are recorded here too.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/batch_splits.h"
#include "kiln/status.h"

namespace kiln::engine {

struct PlanStep {
  std::string name, op, tactic;
};

struct PreparedPlan {
  std::vector<int64_t> input;  // the engine input's dims for this shape, e.g. {4, 3, 640, 640}
  std::string structure_sha256;
  std::vector<PlanStep> steps;
  uint64_t arena_bytes = 0, workspace_bytes = 0, io_bytes = 0, cublas_bytes = 0;
  uint64_t context_bytes() const { return arena_bytes + workspace_bytes + io_bytes + cublas_bytes; }
};

struct EnginePlans {
  uint64_t weight_bytes = 0;
  std::vector<PreparedPlan> prepared;  // by batch, ascending
  BatchSplits splits;                  // batches between prepared sizes that run split
  std::string recorded;                // timing-cache entries (cuda::TimingCache text form; not in encode_plans)
  bool empty() const { return prepared.empty(); }
};

std::vector<uint8_t> encode_plans(const EnginePlans& plans);
// Empty bytes are no plans (a CPU engine, or a CUDA engine built without a GPU). Corrupt,
// naming `display_name`, when the bytes are not a plans section.
Result<EnginePlans> decode_plans(std::span<const uint8_t> bytes, const std::string& display_name);

}  // namespace kiln::engine
