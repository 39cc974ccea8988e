#include "core/spool.h"

#include <cerrno>
#include <cstring>
#include <utility>

namespace kiln {

Result<Spool> Spool::create() {
  std::FILE* f = std::tmpfile();
  if (!f) return error(StatusCode::kIoError, "cannot create a temp file for results: ", std::strerror(errno));
  return Spool(f);
}

Result<std::optional<Spool>> Spool::create_if(bool wanted) {
  if (!wanted) return std::optional<Spool>();
  KILN_ASSIGN_OR_RETURN(Spool spool, create());
  return std::optional<Spool>(std::move(spool));
}

Status Spool::append(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), file_.get()) != text.size())
    return error(StatusCode::kIoError, "temp file of results: write failed: ", std::strerror(errno));
  bytes_ += text.size();
  return Status::Ok();
}

Status Spool::copy_to(const std::function<Status(std::string_view)>& out) {
  std::FILE* f = file_.get();
  if (std::fflush(f) != 0 || std::fseek(f, 0, SEEK_SET) != 0)
    return error(StatusCode::kIoError, "temp file of results: ", std::strerror(errno));
  char buffer[1 << 16];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) KILN_RETURN_IF_ERROR(out({buffer, n}));
  if (std::ferror(f)) return error(StatusCode::kIoError, "temp file of results: read failed");
  return std::fseek(f, 0, SEEK_END) == 0 ? Status::Ok()
                                         : error(StatusCode::kIoError, "temp file of results: ", std::strerror(errno));
}

Status Spool::copy_to(AtomicFile& file) {
  return copy_to([&](std::string_view text) { return file.append(text); });
}

}  // namespace kiln
