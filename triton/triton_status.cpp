#include "triton_status.h"

namespace kiln::triton {

namespace {

TRITONSERVER_Error_Code triton_code(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kCorrupt: return TRITONSERVER_ERROR_INVALID_ARG;
    case StatusCode::kNotFound: return TRITONSERVER_ERROR_NOT_FOUND;
    case StatusCode::kUnsupported:
    case StatusCode::kIncompatible: return TRITONSERVER_ERROR_UNSUPPORTED;
    case StatusCode::kIoError: return TRITONSERVER_ERROR_UNAVAILABLE;
    case StatusCode::kCancelled: return TRITONSERVER_ERROR_CANCELLED;
    case StatusCode::kOk:
    case StatusCode::kInternal: break;
  }
  return TRITONSERVER_ERROR_INTERNAL;
}

}  // namespace

TRITONSERVER_Error* to_triton(const Status& status) {
  if (status.ok()) return nullptr;
  return TRITONSERVER_ErrorNew(triton_code(status.code()), status.message().c_str());
}

Status from_triton(TRITONSERVER_Error* e) {
  if (!e) return Status::Ok();
  Status st(StatusCode::kInternal, std::string("triton: ") + TRITONSERVER_ErrorMessage(e));
  TRITONSERVER_ErrorDelete(e);
  return st;
}

void log(TRITONSERVER_LogLevel level, const std::string& message) {
  if (TRITONSERVER_Error* e = TRITONSERVER_LogMessage(level, "kiln", 0, message.c_str())) TRITONSERVER_ErrorDelete(e);
}

}  // namespace kiln::triton
