// The operators kiln's IR accepts (ONNX default-domain semantics). The importer refuses
// anything else with an error naming the op; every backend implements this whole set
// (tests/cpu checks the CPU backend against it).
#pragma once

#include <string_view>
#include <vector>

namespace kiln::ir {

// Sorted list of supported op types.
const std::vector<std::string_view>& supported_ops();
bool is_supported_op(std::string_view op_type);

}  // namespace kiln::ir
