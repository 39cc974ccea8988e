#include "core/file_util.h"

#include <fcntl.h>
#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>
#include <random>
#include <system_error>

namespace kiln {

namespace fs = std::filesystem;

Result<std::vector<uint8_t>> read_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return error(StatusCode::kNotFound, path.string(), ": no such file");
  if (fs::is_directory(path, ec)) return error(StatusCode::kInvalidArgument, path.string(), ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(StatusCode::kIoError, path.string(), ": cannot open: ", std::strerror(errno));
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) return error(StatusCode::kIoError, path.string(), ": not a regular file of known size");
  std::vector<uint8_t> bytes;
  try {
    bytes.resize(static_cast<size_t>(size));
  } catch (const std::bad_alloc&) {
    return error(StatusCode::kIoError, path.string(), ": file of ", size, " bytes does not fit in memory");
  }
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    return error(StatusCode::kIoError, path.string(), ": read failed");
  return bytes;
}

fs::path temp_path_for(const fs::path& path) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(std::random_device{}());
  return tmp;
}

std::optional<pid_t> temp_file_owner(const fs::path& path) {
  const std::string name = path.filename().string();
  const size_t at = name.rfind(".tmp.");
  if (at == std::string::npos) return std::nullopt;
  const std::string rest = name.substr(at + 5);
  const size_t dot = rest.find('.');
  if (dot == std::string::npos || dot == 0) return std::nullopt;
  pid_t pid = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + dot, pid);
  if (ec != std::errc() || p != rest.data() + dot || pid <= 0) return std::nullopt;
  return pid;
}

Status write_file_atomic(const fs::path& path, const void* data, size_t size) {
  const fs::path tmp = temp_path_for(path);
  auto fail = [&](const char* what, int err) {
    ::unlink(tmp.c_str());
    return error(StatusCode::kIoError, path.string(), ": ", what, ": ", std::strerror(err));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return error(StatusCode::kIoError, path.string(), ": cannot create a file beside it: ", std::strerror(errno));
  const char* p = static_cast<const char*>(data);
  for (size_t left = size; left > 0;) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      return fail("write failed", err);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  // Flushed to the disk before the rename, so a crash leaves the old file or the whole new one.
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return fail("write failed", err);
  }
  if (::close(fd) != 0) return fail("write failed", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot move the finished file into place", errno);
  return Status::Ok();
}

Result<std::vector<fs::path>> expand_glob(const std::string& pattern) {
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<fs::path> out;
  if (rc == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  if (rc != 0 && rc != GLOB_NOMATCH) return error(StatusCode::kIoError, pattern, ": cannot expand the pattern");
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace kiln
