// An exclusive advisory lock (flock) on a lock file, held for the object's lifetime.
// The OS releases it when the process dies, so a killed builder never leaves a stale lock.
// The holder removes the file before releasing it, so finished runs leave no lock files;
// a waiter that then gets the lock on the removed file sees that the path is gone (or is
// another file) and locks the path afresh.
#pragma once

#include <filesystem>
#include <functional>

#include "kiln/status.h"

namespace kiln::engine {

class FileLock {
 public:
  // Blocks until the lock is ours; `on_wait` is called once if someone else holds it.
  static Result<FileLock> acquire(const std::filesystem::path& path, const std::function<void()>& on_wait = {});
  FileLock(FileLock&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  FileLock(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path path_;
  int fd_;
};

}  // namespace kiln::engine
