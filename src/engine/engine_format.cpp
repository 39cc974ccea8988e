#include "engine/engine_format.h"

#include <algorithm>
#include <cstring>

#include "core/parallel_for.h"
#include "engine/byte_io.h"
#include "engine/sha256.h"

namespace kiln::engine {

namespace {

constexpr char kMagic[4] = {'K', 'I', 'L', 'N'};
constexpr uint32_t kMaxSections = 64;
constexpr size_t kChecksumBytes = 32;

void put_section(ByteWriter& w, SectionTag tag, std::span<const uint8_t> bytes) {
  w.put<uint32_t>(static_cast<uint32_t>(tag));
  w.put<uint32_t>(0);
  w.put<uint64_t>(bytes.size());
  w.put_bytes(bytes);
}

}  // namespace

std::vector<uint8_t> encode_engine(const EngineContainer& c, std::span<const uint8_t> signing_key) {
  ByteWriter w;
  w.put_bytes({reinterpret_cast<const uint8_t*>(kMagic), 4});
  w.put<uint32_t>(c.format_version);
  w.put<uint32_t>(c.flags);
  w.put<uint32_t>(signing_key.empty() ? 5 : 6);
  put_section(w, SectionTag::kMetadata, {reinterpret_cast<const uint8_t*>(c.metadata_json.data()), c.metadata_json.size()});
  put_section(w, SectionTag::kGraph, c.graph);
  put_section(w, SectionTag::kWeights, c.weights);
  put_section(w, SectionTag::kPlans, c.plans);
  put_section(w, SectionTag::kRecordedPlans,
              {reinterpret_cast<const uint8_t*>(c.recorded_plans.data()), c.recorded_plans.size()});
  if (!signing_key.empty()) put_section(w, SectionTag::kSignature, hmac_sha256(signing_key, w.bytes()));
  Digest d = sha256(w.bytes());
  w.put_bytes(d);
  return std::move(w.bytes());
}

namespace {

// The sections of `body` (the file without its checksum) into `c`; `corrupt` makes the error.
template <typename Corrupt>
Status read_sections(std::span<const uint8_t> body, EngineContainer& c, const Corrupt& corrupt) {
  ByteReader r(body);
  r.get_bytes(4);
  c.format_version = r.get<uint32_t>();
  c.flags = r.get<uint32_t>();
  uint32_t n = r.get<uint32_t>();
  if (n > kMaxSections) return corrupt("section count " + std::to_string(n));
  bool seen[7] = {};
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    const uint64_t section_start = r.position();
    uint32_t tag = r.get<uint32_t>();
    r.get<uint32_t>();
    uint64_t size = r.get<uint64_t>();
    if (r.ok() && size > r.remaining())
      return corrupt("section " + std::to_string(tag) + " of " + std::to_string(size) +
                     " bytes runs past the end of the file (truncated?)");
    auto data = r.get_bytes(size);
    if (!r.ok()) break;
    if (tag >= 1 && tag <= 6) {
      if (seen[tag]) return corrupt("duplicate section " + std::to_string(tag));
      seen[tag] = true;
    }
    switch (static_cast<SectionTag>(tag)) {
      case SectionTag::kMetadata: c.metadata_json.assign(data.begin(), data.end()); break;
      case SectionTag::kGraph: c.graph.assign(data.begin(), data.end()); break;
      case SectionTag::kWeights: c.weights.assign(data.begin(), data.end()); break;
      case SectionTag::kPlans: c.plans.assign(data.begin(), data.end()); break;
      case SectionTag::kRecordedPlans: c.recorded_plans.assign(data.begin(), data.end()); break;
      case SectionTag::kSignature:
        // Bytes after the signature would not be covered by it.
        if (i + 1 != n) return corrupt("signature section is not the last section");
        if (data.size() != sizeof(Digest)) return corrupt("signature of " + std::to_string(data.size()) + " bytes");
        c.signature.emplace();
        std::copy(data.begin(), data.end(), c.signature->begin());
        c.signed_bytes = section_start;
        break;
      default: break;  // sections of newer format versions are skipped
    }
  }
  if (!r.ok()) return corrupt(r.why() + " (truncated?)");
  if (r.remaining() != 0) return corrupt(std::to_string(r.remaining()) + " unexpected bytes before the checksum");
  if (!seen[static_cast<int>(SectionTag::kMetadata)]) return corrupt("no metadata section");
  return Status::Ok();
}

}  // namespace

Result<EngineContainer> decode_engine(std::span<const uint8_t> bytes, const std::string& display_name) {
  auto corrupt = [&](const std::string& why) {
    return error(StatusCode::kCorrupt, display_name, ": not a valid kiln engine: ", why);
  };
  if (bytes.size() < 4 || std::memcmp(bytes.data(), kMagic, 4) != 0) return corrupt("bad magic (expected \"KILN\")");
  if (bytes.size() < 16 + kChecksumBytes)
    return corrupt("truncated (" + std::to_string(bytes.size()) + " bytes)");

  // The checksum beside the sections' copies: each is a pass over the whole file (a profile's
  // engine with its recorded plans is tens of MB).
  std::span<const uint8_t> body = bytes.first(bytes.size() - kChecksumBytes);
  EngineContainer c;
  Digest computed{};
  Status sections = Status::Ok();
  core::parallel_for(2, [&](size_t i) {
    if (i == 0) computed = sha256(body);
    else sections = read_sections(body, c, corrupt);
  });
  KILN_RETURN_IF_ERROR(sections);
  Digest stored;
  std::copy(bytes.end() - kChecksumBytes, bytes.end(), stored.begin());
  c.checksum_ok = computed == stored;
  return c;
}

}  // namespace kiln::engine
