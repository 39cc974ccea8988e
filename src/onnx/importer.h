// ONNX -> ir::Graph. The only part of kiln that knows ONNX's protobuf schema.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::onnx {

// Reads an .onnx file (external data resolved relative to its folder). Errors name the
// file: NotFound, Corrupt (truncated / not ONNX), Unsupported (op type, node name, opset).
Result<ir::Graph> import_model(const std::filesystem::path& path);

// Same, from bytes already in memory; `display_name` is used in error messages and
// `base_dir` to resolve external data.
Result<ir::Graph> import_model_bytes(std::span<const uint8_t> bytes, const std::string& display_name,
                                     const std::filesystem::path& base_dir);

}  // namespace kiln::onnx
