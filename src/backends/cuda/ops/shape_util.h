// Small helpers shared by the data-movement planners (concat, split, slice, transpose).
#pragma once

#include <cstdint>

namespace kiln::cuda {

// ONNX axis (possibly negative) -> [0, rank); -1 when out of range.
inline int64_t normalize_axis(int64_t axis, int64_t rank) {
  if (axis < 0) axis += rank;
  return axis >= 0 && axis < rank ? axis : -1;
}

}  // namespace kiln::cuda
