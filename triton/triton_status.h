// Between kiln's Status and Triton's TRITONSERVER_Error, both ways.
#pragma once

#include <string>

#include "kiln/status.h"
#include "triton_api.h"

namespace kiln::triton {

// nullptr for Ok; otherwise a new Triton error with the same one-line message.
TRITONSERVER_Error* to_triton(const Status& status);

// Takes ownership of `error` (deletes it); Ok for nullptr.
Status from_triton(TRITONSERVER_Error* error);

void log(TRITONSERVER_LogLevel level, const std::string& message);

}  // namespace kiln::triton
