// JSON as text for files, terminals and hashes. File names, sources and class names need not
// be UTF-8 (a Linux file name is bytes) and nlohmann's dump throws on invalid UTF-8, which
// ended kiln predict --json on an image named in Latin-1; here such bytes become U+FFFD.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kiln {

inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace kiln
