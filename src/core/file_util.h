// Whole-file reads and atomic writes: the only file I/O helpers layers share.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln {

// Reads a whole file; NotFound if missing, IoError if unreadable or too large for memory.
Result<std::vector<uint8_t>> read_file(const std::filesystem::path& path);

// POSIX glob(3): "*", "?" and "[...]" within one path component, matches sorted; no match
// is an empty list, a failing expansion an IoError naming the pattern.
Result<std::vector<std::filesystem::path>> expand_glob(const std::string& pattern);

// Writes to a temp file beside `path` (temp_path_for), syncs it, then renames it into place,
// so readers see either the old file or the whole new one, never a half-written one. On
// failure the temp file is removed and the error names `path`, the step and errno's text
// ("No space left on device").
Status write_file_atomic(const std::filesystem::path& path, const void* data, size_t size);

// "<path>.tmp.<pid>.<random>": the temp name write_file_atomic and the engine cache use.
std::filesystem::path temp_path_for(const std::filesystem::path& path);
// The pid recorded in a temp_path_for name, or nullopt for any other name.
std::optional<pid_t> temp_file_owner(const std::filesystem::path& path);

}  // namespace kiln
