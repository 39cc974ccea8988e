// Whole-file reads and atomic writes: the only file I/O helpers layers share.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/status.h"

namespace kiln {

// Reads a whole file; NotFound if missing, IoError if unreadable or too large for memory.
Result<std::vector<uint8_t>> read_file(const std::filesystem::path& path);

// POSIX glob(3): "*", "?" and "[...]" within one path component, matches sorted; no match
// is an empty list, a failing expansion an IoError naming the pattern.
Result<std::vector<std::filesystem::path>> expand_glob(const std::string& pattern);

// A file written piece by piece into a temp file beside `path` (temp_path_for) and, by
// commit(), synced and renamed into place: readers see the old file or the whole new one,
// never a half-written one, and a writer of millions of results holds none of them in
// memory. Not committed (an error, an early return), the temp file is removed. Errors name
// `path`, the step and errno's text ("No space left on device").
class AtomicFile {
 public:
  static Result<AtomicFile> create(const std::filesystem::path& path);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();

  Status append(std::string_view data);  // small pieces buffered; a failed write fails every later call
  Status commit();                       // flush, fsync, rename; once

 private:
  AtomicFile(std::filesystem::path path, std::filesystem::path tmp, int fd);
  Status write_all(std::string_view data);
  Status flush();
  Status fail(const char* what, int err);

  std::filesystem::path path_, tmp_;
  int fd_ = -1;  // -1 once committed or failed
  std::string buffer_;
  Status failed_ = Status::Ok();
};

// Whether `path` can take a file written later (write_file_atomic, AtomicFile): a command
// that writes its output at the end checks this first, so that a folder given for the file
// or a missing parent folder fails before the work, not after. One line naming `path`.
Status check_output_path(const std::filesystem::path& path);

// The whole of `data` as one AtomicFile.
Status write_file_atomic(const std::filesystem::path& path, const void* data, size_t size);

// "<path>.tmp.<pid>.<random>": the temp name write_file_atomic and the engine cache use.
std::filesystem::path temp_path_for(const std::filesystem::path& path);
// The pid recorded in a temp_path_for name, or nullopt for any other name.
std::optional<pid_t> temp_file_owner(const std::filesystem::path& path);

}  // namespace kiln
