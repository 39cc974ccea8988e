// The .kiln reader on arbitrary bytes whose trailing SHA-256 is recomputed first, as an
// attacker editing an engine would: the checksum is then no protection and the structural
// checks (container, graph, weights, validate_loaded_graph) must refuse everything unsound.
// Each input is loaded without a key and with kKey (bench/fuzz/make_corpus.py signs a seed
// with it), so the signature section's decoding and checking are fuzzed too.
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/engine.h"
#include "engine/sha256.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const kiln::engine::SigningKey kKey{std::vector<uint8_t>(32, 'k'), "fuzz.key"};
  std::vector<uint8_t> bytes(data, data + size);
  if (bytes.size() >= 32) {
    const size_t body = bytes.size() - 32;
    const kiln::engine::Digest d = kiln::engine::sha256(std::span(bytes.data(), body));
    std::memcpy(bytes.data() + body, d.data(), 32);
  }
  (void)kiln::engine::load_engine_bytes(bytes, "fuzz.kiln");
  (void)kiln::engine::load_engine_bytes(bytes, "fuzz.kiln", &kKey);
  return 0;
}
