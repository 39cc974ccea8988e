// Engine signatures, for deployments that load engines from storage others can write: an
// HMAC-SHA256 (RFC 2104) over the .kiln file, made with a secret key file. The checksum
// every engine carries detects damage; only a signature says the file came from someone
// holding the key. With a key configured, engines are signed when built and refused when
// loaded unsigned or signed with another key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/engine_format.h"
#include "kiln/status.h"

namespace kiln::engine {

// A key file's bytes are the key: at least the digest's 32 bytes (RFC 2104 advises against
// shorter keys), e.g. `openssl rand -out kiln.key 32`.
inline constexpr uint64_t kMinSigningKeyBytes = 32;
inline constexpr uint64_t kMaxSigningKeyBytes = 4096;

struct SigningKey {
  std::vector<uint8_t> secret;
  std::filesystem::path file;  // named in messages; the secret never is
};

// NotFound / InvalidArgument (too short or too long) naming the file.
Result<SigningKey> read_signing_key(const std::filesystem::path& file);

// The key file to sign and check engines with: `flag` if set, else $KILN_ENGINE_KEY, else
// `configured` (kiln.yaml's engine_key); empty when none is set.
std::filesystem::path signing_key_file(const std::filesystem::path& flag,
                                       const std::optional<std::filesystem::path>& configured);
// That file's key; nullopt when none is set.
Result<std::optional<SigningKey>> resolve_signing_key(const std::filesystem::path& flag,
                                                      const std::optional<std::filesystem::path>& configured);

enum class SignatureState {
  kUnsigned,
  kUnchecked,  // signed, no key to check it with
  kValid,
  kInvalid,    // signed with another key, or modified after signing
};

// The state of `container`'s signature, decoded from `file`, under `key` (may be null).
SignatureState signature_state(std::span<const uint8_t> file, const EngineContainer& container, const SigningKey* key);
const char* signature_state_name(SignatureState state);

// Ok for a valid signature; otherwise the one-line refusal naming `engine` and the key file:
// InvalidArgument for an unsigned engine, Corrupt for a signature that does not match.
Status require_valid_signature(SignatureState state, const std::filesystem::path& engine, const SigningKey& key);

}  // namespace kiln::engine
