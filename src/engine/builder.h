// Builds an engine: ONNX import -> optimization (dims bound to the build's batch and
// input size) -> engine file, then verifies it by loading the encoded engine back and
// comparing its output with the un-optimized imported model on a deterministic input.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "engine/build_options.h"
#include "engine/engine.h"
#include "kiln/status.h"

namespace kiln::engine {

// Receives one-line progress messages ("importing", "optimizing", ...).
using Progress = std::function<void(const std::string&)>;

struct BuildReport {
  std::filesystem::path path;
  uint64_t file_size = 0;
  EngineMetadata metadata;  // includes build time and verification result
};

// Writes the engine to `output` atomically; nothing is written when a step fails.
// fp16/int8 on the CPU is an InvalidArgument; a GPU device this machine lacks is NotFound.
Result<BuildReport> build_engine(const std::filesystem::path& model, const BuildOptions& options,
                                 const std::filesystem::path& output, const Progress& progress = {});

// Rebuilds `engine` in place from the source model and options it records.
Result<BuildReport> rebuild_engine(const EngineInfo& engine, const Progress& progress = {});

}  // namespace kiln::engine
