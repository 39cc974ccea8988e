// An exclusive advisory lock (flock) on a lock file, held for the object's lifetime.
// The OS releases it when the process dies, so a killed builder never leaves a stale lock.
#pragma once

#include <filesystem>
#include <functional>

#include "kiln/status.h"

namespace kiln::engine {

class FileLock {
 public:
  // Blocks until the lock is ours; `on_wait` is called once if someone else holds it.
  static Result<FileLock> acquire(const std::filesystem::path& path, const std::function<void()>& on_wait = {});
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace kiln::engine
