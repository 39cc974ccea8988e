// SHA-256 and HMAC-SHA256 (OpenSSL libcrypto): engine checksums, source-model hashes,
// cache keys and engine signatures.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "kiln/status.h"

namespace kiln::engine {

using Digest = std::array<uint8_t, 32>;

// Incremental hashing, for keys made of several parts.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(std::span<const uint8_t> bytes);
  Sha256& update(std::string_view text);
  Digest finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

Digest sha256(std::span<const uint8_t> bytes);
// HMAC-SHA256 (RFC 2104) of `data` with `key`.
Digest hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data);
// Equality in time independent of where the digests differ, for comparing MACs.
bool digests_equal(const Digest& a, const Digest& b);
std::string to_hex(const Digest& digest);
// Hex SHA-256 of a file's bytes; NotFound / IoError naming the file.
Result<std::string> sha256_file_hex(const std::filesystem::path& path);

}  // namespace kiln::engine
