// The .kiln reader on arbitrary bytes whose trailing SHA-256 is recomputed first, as an
// attacker editing an engine would: the checksum is then no protection and the structural
// checks (container, graph, weights, validate_loaded_graph) must refuse everything unsound.
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/engine.h"
#include "engine/sha256.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  if (bytes.size() >= 32) {
    const size_t body = bytes.size() - 32;
    const kiln::engine::Digest d = kiln::engine::sha256(std::span(bytes.data(), body));
    std::memcpy(bytes.data() + body, d.data(), 32);
  }
  (void)kiln::engine::load_engine_bytes(bytes, "fuzz.kiln");
  return 0;
}
