// One axis of an ONNX Slice resolved against a known dimension, shared by the CPU kernel
// and shape inference so both read starts/ends/steps the same way.
#pragma once

#include <cstdint>

namespace kiln::ir {

struct SliceAxis {
  int64_t start = 0;  // first index taken (meaningful when count > 0)
  int64_t count = 0;  // elements taken
};

// Negative start/end count from the end; out-of-range values clamp; a negative step walks
// backwards (an end of INT64_MIN then means "through index 0"). `step` must not be 0.
SliceAxis resolve_slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step);

}  // namespace kiln::ir
