// Whole-file reads and atomic writes: the only file I/O helpers layers share.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln {

// Reads a whole file; NotFound if missing, IoError if unreadable.
Result<std::vector<uint8_t>> read_file(const std::filesystem::path& path);

// Writes to a temp file beside `path`, then renames it into place, so readers see
// either the old file or the whole new one, never a half-written one.
Status write_file_atomic(const std::filesystem::path& path, const void* data, size_t size);

}  // namespace kiln
