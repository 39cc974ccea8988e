#include "engine/engine_signing.h"

#include <cstdlib>

#include "core/file_util.h"
#include "engine/sha256.h"

namespace kiln::engine {

namespace fs = std::filesystem;

Result<SigningKey> read_signing_key(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return error(StatusCode::kNotFound, file.string(), ": signing key: no such file");
  const uint64_t size = fs::file_size(file, ec);
  if (ec) return error(StatusCode::kIoError, file.string(), ": signing key: ", ec.message());
  if (size < kMinSigningKeyBytes || size > kMaxSigningKeyBytes)
    return error(StatusCode::kInvalidArgument, file.string(), ": signing key of ", size, " bytes, expected ",
                 kMinSigningKeyBytes, "..", kMaxSigningKeyBytes, " (make one: openssl rand -out ", file.string(), " 32)");
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> secret, read_file(file));
  return SigningKey{std::move(secret), file};
}

fs::path signing_key_file(const fs::path& flag, const std::optional<fs::path>& configured) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("KILN_ENGINE_KEY"); env && *env) return env;
  return configured.value_or(fs::path());
}

Result<std::optional<SigningKey>> resolve_signing_key(const fs::path& flag, const std::optional<fs::path>& configured) {
  const fs::path file = signing_key_file(flag, configured);
  if (file.empty()) return std::optional<SigningKey>();
  KILN_ASSIGN_OR_RETURN(SigningKey key, read_signing_key(file));
  return std::optional<SigningKey>(std::move(key));
}

SignatureState signature_state(std::span<const uint8_t> file, const EngineContainer& c, const SigningKey* key) {
  if (!c.signature) return SignatureState::kUnsigned;
  if (!key) return SignatureState::kUnchecked;
  const Digest mac = hmac_sha256(key->secret, file.first(c.signed_bytes));
  return digests_equal(mac, *c.signature) ? SignatureState::kValid : SignatureState::kInvalid;
}

const char* signature_state_name(SignatureState state) {
  switch (state) {
    case SignatureState::kUnsigned: return "unsigned";
    case SignatureState::kUnchecked: return "signed (not checked: no key configured)";
    case SignatureState::kValid: return "signed, valid";
    case SignatureState::kInvalid: return "signed, INVALID for the configured key";
  }
  return "unknown";
}

Status require_valid_signature(SignatureState state, const fs::path& engine, const SigningKey& key) {
  switch (state) {
    case SignatureState::kValid: return Status::Ok();
    case SignatureState::kInvalid:
      return error(StatusCode::kCorrupt, engine.string(), ": signature does not match the signing key ", key.file.string(),
                   " (signed with another key, or modified after signing)");
    case SignatureState::kUnsigned:
    case SignatureState::kUnchecked: break;
  }
  return error(StatusCode::kInvalidArgument, engine.string(), ": engine is not signed, and engines must be signed with ",
               key.file.string(), " (sign it: kiln build MODEL --sign-key ", key.file.string(), ")");
}

}  // namespace kiln::engine
