#include "ir/size_limits.h"

#include "ir/tensor.h"

namespace kiln::ir {

std::optional<int64_t> checked_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || d > kMaxDim) return std::nullopt;
    if (d != 0 && n > kMaxElements / d) return std::nullopt;
    n *= d;
  }
  return n;
}

Status check_output_shape(const std::vector<int64_t>& shape) {
  if (checked_numel(shape)) return Status::Ok();
  return error(StatusCode::kInvalidArgument, "output shape ", shape_to_string(shape), " is beyond kiln's limits (dims 0..",
               kMaxDim, ", at most ", kMaxElements, " elements)");
}

}  // namespace kiln::ir
