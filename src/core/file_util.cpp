#include "core/file_util.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
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
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    return error(StatusCode::kIoError, path.string(), ": read failed");
  return bytes;
}

Status write_file_atomic(const fs::path& path, const void* data, size_t size) {
  std::random_device rd;
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(rd());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return error(StatusCode::kIoError, path.string(), ": cannot write: ", std::strerror(errno));
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ec;
      fs::remove(tmp, ec);
      return error(StatusCode::kIoError, path.string(), ": write failed");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return error(StatusCode::kIoError, path.string(), ": rename failed: ", ec.message());
  }
  return Status::Ok();
}

}  // namespace kiln
