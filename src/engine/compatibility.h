// Can this engine run here as built? Compares an engine's recorded fingerprint, format
// version, checksum and source model with the current environment.
//   critical (needs rebuild): format version, checksum, device kind, compute capability,
//     CUDA runtime / cuDNN / cuBLASLt major version, kiln major.minor version, the source
//     model's bytes changed since the build (when the file still exists).
//   warning: CUDA driver version, GPU name with the same compute capability, kiln patch
//     version, source model no longer present (a rebuild would be impossible).
#pragma once

#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/environment.h"
#include "kiln/status.h"

namespace kiln::engine {

enum class Severity { kCritical, kWarning };
const char* severity_name(Severity s);  // "critical" | "warning"

struct Reason {
  Severity severity;
  std::string message;
};

struct Verdict {
  std::vector<Reason> reasons;
  bool needs_rebuild() const;
};

Verdict check_compatibility(const EngineInfo& engine, const Environment& current);

// What `kiln check` decides: check_compatibility, and where that finds nothing critical and
// the checksum holds, whether the recorded CUDA plans restore on this GPU (a fitting
// fingerprint is not enough; a critical reason if they do not).
Result<Verdict> check_engine(const EngineInfo& engine, const Environment& current);

// What to do with an engine that needs a rebuild.
enum class MismatchPolicy { kAuto, kPrompt, kFail };
Result<MismatchPolicy> parse_mismatch_policy(const std::string& text);  // auto | prompt | fail
const char* policy_name(MismatchPolicy p);

}  // namespace kiln::engine
