#include "engine/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kiln::engine {

Result<FileLock> FileLock::acquire(const std::filesystem::path& path, const std::function<void()>& on_wait) {
  bool waited = false;
  while (true) {
    int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) return error(StatusCode::kIoError, path.string(), ": cannot open lock file: ", std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (on_wait && !waited) on_wait();
      waited = true;
      int rc;
      while ((rc = ::flock(fd, LOCK_EX)) != 0 && errno == EINTR) {}
      if (rc != 0) {
        int err = errno;
        ::close(fd);
        return error(StatusCode::kIoError, path.string(), ": cannot lock: ", std::strerror(err));
      }
    }
    // The previous holder may have removed the file while we waited: then our lock is on
    // a file nobody else can open, and the path must be locked again.
    struct stat held {}, named {};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino)
      return FileLock(path, fd);
    ::close(fd);
  }
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still held: see the header
  ::close(fd_);             // closing releases the flock
}

}  // namespace kiln::engine
