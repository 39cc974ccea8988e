// Size limits of any tensor a graph declares, loads or computes: far above real models, low
// enough that element and byte counts never overflow int64. Shape inference, the ONNX
// importer and the engine reader refuse larger ones.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "kiln/status.h"

namespace kiln::ir {

inline constexpr int64_t kMaxDim = int64_t{1} << 31;
inline constexpr int64_t kMaxElements = int64_t{1} << 34;

// The element count of `shape`, or nullopt when a dim is negative or above kMaxDim, or the
// product is above kMaxElements.
std::optional<int64_t> checked_numel(const std::vector<int64_t>& shape);
// InvalidArgument "output shape [..] is beyond kiln's limits ..." unless checked_numel accepts
// `shape`; for shapes computed from tensor values (ConstantOfShape, Expand, Resize).
Status check_output_shape(const std::vector<int64_t>& shape);

}  // namespace kiln::ir
