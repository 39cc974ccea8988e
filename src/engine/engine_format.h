// The .kiln container. Layout (little-endian):
//   "KILN" | u32 format_version | u32 flags | u32 section_count
//   section_count x (u32 tag | u32 reserved = 0 | u64 size | size bytes)
//   32-byte SHA-256 of every byte before it
// Sections: metadata (JSON text), graph, weights (graph_serialization.h), plans (JSON,
// engine_plans.h), recorded plans (the timing-cache text they replay) and, in a signed
// engine, a last signature section: the HMAC-SHA256 of every byte before that section's own
// header (engine_signing.h). Readers skip unknown sections, so a signed engine stays
// readable by a kiln that does not check signatures. The container layout is the same for
// every format version, so an engine of another version can still be inspected and reported
// as "needs rebuild" rather than as garbage.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/sha256.h"
#include "kiln/status.h"

namespace kiln::engine {

// 2: the plans section records the CUDA plans (version 1 recorded tactic names only).
// 3: the recorded plans (megabytes of base64 in an FP16 engine) are a section of their own,
//    read as they are, no longer a string inside the plans' JSON.
inline constexpr uint32_t kFormatVersion = 3;

enum class SectionTag : uint32_t {
  kMetadata = 1,
  kGraph = 2,
  kWeights = 3,
  kPlans = 4,
  kSignature = 5,
  kRecordedPlans = 6
};

struct EngineContainer {
  uint32_t format_version = kFormatVersion;
  uint32_t flags = 0;
  std::string metadata_json;
  std::vector<uint8_t> graph;
  std::vector<uint8_t> weights;
  std::vector<uint8_t> plans;
  std::string recorded_plans;
  bool checksum_ok = true;  // set by decode_engine
  // Set by decode_engine for a signed file: the MAC and how many leading bytes it covers.
  std::optional<Digest> signature;
  uint64_t signed_bytes = 0;
};

// With a non-empty `signing_key`, the file ends with a signature section made with it.
std::vector<uint8_t> encode_engine(const EngineContainer& container, std::span<const uint8_t> signing_key = {});

// Validates every length against the data: Corrupt, naming `display_name`, for a file
// that is not a kiln engine, is truncated or has a malformed section table. A checksum
// mismatch is not an error here (checksum_ok = false): callers decide what it means.
Result<EngineContainer> decode_engine(std::span<const uint8_t> bytes, const std::string& display_name);

}  // namespace kiln::engine
