// Status and Result<T>: how every kiln layer reports failure (no exceptions cross
// layer boundaries, the library never exits or prints). Modeled on ONNX Runtime's Status.
#pragma once

#include <cassert>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <variant>

namespace kiln {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // caller passed something malformed (bad flag, wrong shape)
  kNotFound,         // a file, model, op or key that does not exist
  kUnsupported,      // valid input that kiln cannot handle (unsupported op, dtype)
  kCorrupt,          // a file that exists but cannot be parsed (truncated, garbage)
  kIoError,          // the OS refused (permissions, disk full)
  kIncompatible,     // engine built for another environment
  kInternal,         // a kiln bug
  kCancelled,        // the caller stopped the work (a background build when its model closes)
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<message>" for errors, "ok" otherwise; one line, for the CLI.
  std::string to_string() const { return ok() ? "ok" : message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Builds a message from any streamable parts: error(kNotFound, "no file ", path).
template <typename... Parts>
Status error(StatusCode code, const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return Status(code, os.str());
}

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT(implicit)
  Result(Status status) : v_(std::move(status)) {      // NOLINT(implicit)
    assert(!std::get<Status>(v_).ok() && "Result needs a value or an error");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kiln

#define KILN_CONCAT_INNER_(a, b) a##b
#define KILN_CONCAT_(a, b) KILN_CONCAT_INNER_(a, b)

#define KILN_RETURN_IF_ERROR(expr)              \
  do {                                          \
    ::kiln::Status _kiln_st = (expr);           \
    if (!_kiln_st.ok()) return _kiln_st;        \
  } while (0)

#define KILN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

// KILN_ASSIGN_OR_RETURN(auto graph, import_onnx(path));
#define KILN_ASSIGN_OR_RETURN(lhs, expr) \
  KILN_ASSIGN_OR_RETURN_IMPL_(KILN_CONCAT_(_kiln_r_, __LINE__), lhs, expr)
