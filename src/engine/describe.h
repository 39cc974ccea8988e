// A readable account of an engine file, for `kiln info ENGINE`: works without a GPU and
// on a file whose checksum fails (it says so).
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/engine_signing.h"
#include "kiln/status.h"

namespace kiln::engine {

struct Description {
  std::string text;     // multi-line, for people
  nlohmann::json json;  // the same facts, for machines
};

// Corrupt (one line naming the file) when it is not a readable engine. With a `key`, the
// signature is checked against it (engine_signing.h).
Result<Description> describe(const std::filesystem::path& engine, const SigningKey* key = nullptr);

}  // namespace kiln::engine
