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
#include <utility>

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

namespace {
constexpr size_t kAtomicFileBuffer = 1 << 20;
}

AtomicFile::AtomicFile(fs::path path, fs::path tmp, int fd) : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      tmp_(std::move(other.tmp_)),
      fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)),
      failed_(std::move(other.failed_)) {}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

Result<AtomicFile> AtomicFile::create(const fs::path& path) {
  fs::path tmp = temp_path_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return error(StatusCode::kIoError, path.string(), ": cannot create a file beside it: ", std::strerror(errno));
  return AtomicFile(path, std::move(tmp), fd);
}

Status AtomicFile::fail(const char* what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  failed_ = error(StatusCode::kIoError, path_.string(), ": ", what, ": ", std::strerror(err));
  return failed_;
}

Status AtomicFile::write_all(std::string_view data) {
  const char* p = data.data();
  for (size_t left = data.size(); left > 0;) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write failed", n < 0 ? errno : EIO);
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status AtomicFile::flush() {
  KILN_RETURN_IF_ERROR(write_all(buffer_));
  buffer_.clear();
  return Status::Ok();
}

Status AtomicFile::append(std::string_view data) {
  if (fd_ < 0) return failed_.ok() ? error(StatusCode::kInternal, path_.string(), ": written after commit") : failed_;
  if (buffer_.size() + data.size() < kAtomicFileBuffer) {
    buffer_.append(data);
    return Status::Ok();
  }
  // A large piece (a whole engine) goes to the file as it is, not through the buffer.
  KILN_RETURN_IF_ERROR(flush());
  return write_all(data);
}

Status AtomicFile::commit() {
  if (fd_ < 0) return failed_.ok() ? error(StatusCode::kInternal, path_.string(), ": committed twice") : failed_;
  KILN_RETURN_IF_ERROR(flush());
  // Flushed to the disk before the rename, so a crash leaves the old file or the whole new one.
  if (::fsync(fd_) != 0) return fail("write failed", errno);
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return fail("write failed", errno);
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) return fail("cannot move the finished file into place", errno);
  return Status::Ok();
}

Status check_output_path(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    return error(StatusCode::kInvalidArgument, path.string(), ": is a folder; name the file to write");
  const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  if (!fs::is_directory(parent, ec))
    return error(StatusCode::kNotFound, path.string(), ": no folder ", parent.string(), " to write it in");
  return Status::Ok();
}

Status write_file_atomic(const fs::path& path, const void* data, size_t size) {
  KILN_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::create(path));
  KILN_RETURN_IF_ERROR(file.append(std::string_view(static_cast<const char*>(data), size)));
  return file.commit();
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
