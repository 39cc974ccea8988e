// Structural checks on a parsed ModelProto before anything is built from it. Random bytes
// sometimes parse as a protobuf message; these checks are what turn them into a clean
// Corrupt error instead of a nonsense graph.
#pragma once

#include <string>

#include "kiln/status.h"
#include "onnx/onnx.pb.h"

namespace kiln::onnx {

// True for "" and "ai.onnx", the two spellings of ONNX's default operator domain.
bool is_default_domain(const std::string& domain);

// Corrupt (naming `file` and the problem) unless: ir_version > 0; a graph with at least one
// node and one output; a default-domain opset_import; every node input refers to a graph
// input, an initializer or an earlier node's output; no value is defined twice; every graph
// output is defined.
Status validate_model(const ::onnx::ModelProto& model, const std::string& file);

}  // namespace kiln::onnx
