// Engine signatures: HMAC-SHA256 against RFC 4231, signed containers that verify only with
// their key, tampering and misplaced signatures detected, key files checked, and loading
// with a key refusing unsigned and wrongly signed engines with one line naming the file.
#include "engine/engine_signing.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "core/file_util.h"
#include "engine/byte_io.h"
#include "engine/engine.h"
#include "engine/sha256.h"
#include "support/test_support.h"
#include "engine/tiny_graph.h"

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

TEST(HmacSha256, Rfc4231Vectors) {
  struct Case {
    std::vector<uint8_t> key, data;
    const char* mac;
  };
  std::vector<uint8_t> key4;
  for (uint8_t i = 1; i <= 25; ++i) key4.push_back(i);
  const std::vector<Case> cases = {
      {std::vector<uint8_t>(20, 0x0b), bytes_of("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {bytes_of("Jefe"), bytes_of("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::vector<uint8_t>(20, 0xaa), std::vector<uint8_t>(50, 0xdd),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {key4, std::vector<uint8_t>(50, 0xcd), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::vector<uint8_t>(131, 0xaa), bytes_of("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::vector<uint8_t>(131, 0xaa),
       bytes_of("This is a test using a larger than block-size key and a larger than block-size data. The key needs "
                "to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(to_hex(hmac_sha256(cases[i].key, cases[i].data)), cases[i].mac) << "RFC 4231 test case " << i + 1;
}

SigningKey key_of(char fill) { return SigningKey{std::vector<uint8_t>(32, static_cast<uint8_t>(fill)), "/keys/" + std::string(1, fill)}; }

EngineMetadata cpu_metadata() {
  EngineMetadata m;
  m.environment = Fingerprint{"cpu", "", "", "", "", "", "", KILN_VERSION};
  m.model = ModelInfo{"/m/tiny.onnx", std::string(64, 'a'), "", {}, 32, 4, 4, {}, 17};
  m.built_at = "2026-01-02T03:04:05Z";
  return m;
}

using kiln::test::tiny_graph;

std::vector<uint8_t> tiny_engine(const SigningKey* key) { return encode_engine_file(cpu_metadata(), tiny_graph(), {}, key); }

// An attacker's edit: bytes changed and the trailing checksum recomputed.
void rechecksum(std::vector<uint8_t>& file) {
  const Digest d = sha256(std::span<const uint8_t>(file).first(file.size() - 32));
  std::copy(d.begin(), d.end(), file.end() - 32);
}

TEST(EngineSigning, SignedEngineVerifiesOnlyWithItsKey) {
  const SigningKey a = key_of('a'), b = key_of('b');
  const std::vector<uint8_t> file = tiny_engine(&a);
  auto c = decode_engine(file, "e.kiln");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->signature.has_value());
  EXPECT_TRUE(c->checksum_ok);
  // The signature section is the file's last: 16-byte header + 32-byte MAC + checksum.
  EXPECT_EQ(c->signed_bytes, file.size() - 32 - 16 - 32);
  EXPECT_TRUE(digests_equal(*c->signature, hmac_sha256(a.secret, std::span<const uint8_t>(file).first(c->signed_bytes))));
  EXPECT_EQ(signature_state(file, *c, &a), SignatureState::kValid);
  EXPECT_EQ(signature_state(file, *c, &b), SignatureState::kInvalid);
  EXPECT_EQ(signature_state(file, *c, nullptr), SignatureState::kUnchecked);

  const std::vector<uint8_t> plain = tiny_engine(nullptr);
  auto u = decode_engine(plain, "u.kiln");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->signature.has_value());
  EXPECT_EQ(signature_state(plain, *u, &a), SignatureState::kUnsigned);
  EXPECT_EQ(file.size(), plain.size() + 16 + 32);
}

TEST(EngineSigning, EditedSignedEngineIsInvalidEvenWithARecomputedChecksum) {
  const SigningKey a = key_of('a');
  std::vector<uint8_t> file = tiny_engine(&a);
  // The weight 1.0f of the Add's constant becomes 2.0f.
  const float one = 1.0f, two = 2.0f;
  auto it = std::search(file.begin(), file.end(), reinterpret_cast<const uint8_t*>(&one),
                        reinterpret_cast<const uint8_t*>(&one) + 4);
  ASSERT_NE(it, file.end());
  std::copy(reinterpret_cast<const uint8_t*>(&two), reinterpret_cast<const uint8_t*>(&two) + 4, it);
  rechecksum(file);
  auto c = decode_engine(file, "e.kiln");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->checksum_ok);
  EXPECT_EQ(signature_state(file, *c, &a), SignatureState::kInvalid);
  auto loaded = load_engine_bytes(file, "e.kiln", &a);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(loaded.status().message(),
            "e.kiln: signature does not match the signing key /keys/a (signed with another key, or modified after signing)");
}

TEST(EngineSigning, SectionsAfterTheSignatureAreCorrupt) {
  const SigningKey a = key_of('a');
  std::vector<uint8_t> file = tiny_engine(&a);
  // Append an unknown section after the signature (one more in the count) and fix the checksum.
  file.resize(file.size() - 32);
  ByteWriter extra;
  extra.put<uint32_t>(9);
  extra.put<uint32_t>(0);
  extra.put<uint64_t>(0);
  file.insert(file.end(), extra.bytes().begin(), extra.bytes().end());
  ++file[12];
  file.resize(file.size() + 32);
  rechecksum(file);
  auto c = decode_engine(file, "e.kiln");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "e.kiln: not a valid kiln engine: signature section is not the last section");
}

TEST(EngineSigning, LoadingWithAKeyRefusesUnsignedAndWronglySignedEngines) {
  const SigningKey a = key_of('a'), b = key_of('b');
  const std::vector<uint8_t> signed_a = tiny_engine(&a), plain = tiny_engine(nullptr);
  auto ok = load_engine_bytes(signed_a, "s.kiln", &a);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->info.signature, SignatureState::kValid);
  EXPECT_EQ(ok->graph.nodes().size(), 1u);
  // Without a key a signed engine loads as any other (readers skip the section).
  EXPECT_TRUE(load_engine_bytes(signed_a, "s.kiln").ok());

  auto wrong = load_engine_bytes(signed_a, "s.kiln", &b);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kCorrupt);
  auto unsigned_engine = load_engine_bytes(plain, "u.kiln", &a);
  ASSERT_FALSE(unsigned_engine.ok());
  EXPECT_EQ(unsigned_engine.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(unsigned_engine.status().message(),
            "u.kiln: engine is not signed, and engines must be signed with /keys/a (sign it: kiln build MODEL "
            "--sign-key /keys/a)");
}

TEST(SigningKeyFile, ReadsTheFileAndRefusesShortOrMissingKeys) {
  const fs::path dir = test::temp_dir();
  const std::string secret(32, 'k');
  std::ofstream(dir / "good.key") << secret;
  std::ofstream(dir / "short.key") << "0123456789abcdef";
  auto good = read_signing_key(dir / "good.key");
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->secret, bytes_of(secret));
  auto shortk = read_signing_key(dir / "short.key");
  ASSERT_FALSE(shortk.ok());
  EXPECT_EQ(shortk.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(shortk.status().message().find("signing key of 16 bytes, expected 32..4096"), std::string::npos)
      << shortk.status().message();
  auto missing = read_signing_key(dir / "none.key");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), (dir / "none.key").string() + ": signing key: no such file");
  EXPECT_FALSE(read_signing_key(dir).ok()) << "a folder is no key";
}

TEST(SigningKeyFile, FlagThenEnvThenConfig) {
  ::unsetenv("KILN_ENGINE_KEY");
  EXPECT_EQ(signing_key_file("", std::nullopt), fs::path());
  EXPECT_EQ(signing_key_file("", fs::path("/cfg.key")), fs::path("/cfg.key"));
  ::setenv("KILN_ENGINE_KEY", "/env.key", 1);
  EXPECT_EQ(signing_key_file("", fs::path("/cfg.key")), fs::path("/env.key"));
  EXPECT_EQ(signing_key_file("/flag.key", fs::path("/cfg.key")), fs::path("/flag.key"));
  ::unsetenv("KILN_ENGINE_KEY");
  auto none = resolve_signing_key("", std::nullopt);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto bad = resolve_signing_key("/no/such.key", std::nullopt);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kiln::engine
