// What every step of an ONNX import needs to report errors and find external data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace kiln::onnx {

struct ImportContext {
  std::string file;                 // model name used in every error message
  std::filesystem::path base_dir;   // folder external data paths are relative to
  int64_t opset = 0;                // default-domain opset of the model
};

}  // namespace kiln::onnx
