// Text kept in an anonymous temp file instead of memory until it is copied out whole: the
// output of a video or sequence that must be written in order after others running beside
// it, however long it runs.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "core/file_util.h"
#include "kiln/status.h"

namespace kiln {

class Spool {
 public:
  static Result<Spool> create();
  // A spool when `wanted` (an output flag given), else none.
  static Result<std::optional<Spool>> create_if(bool wanted);

  Status append(std::string_view text);
  bool empty() const { return bytes_ == 0; }
  // Hands the text to `out` in pieces, from the start.
  Status copy_to(const std::function<Status(std::string_view)>& out);
  Status copy_to(AtomicFile& file);

 private:
  struct Close {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  explicit Spool(std::FILE* file) : file_(file) {}
  std::unique_ptr<std::FILE, Close> file_;
  size_t bytes_ = 0;
};

}  // namespace kiln
