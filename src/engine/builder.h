// Builds an engine: ONNX import -> optimization (dims bound to the build's batch and
// input size) -> engine file, then verifies it by loading the encoded engine back and
// comparing its output with the un-optimized imported model (CPU) on a deterministic
// input: a CPU engine through the CPU executor (max relative error 1e-3), a CUDA engine
// through the CUDA backend at its precision (fp32 1e-3, fp16 1e-2), whose per-node tactics
// are recorded in the engine file. Without a usable GPU (or CUDA in this kiln) a CUDA
// engine is recorded unverified, and its metadata says why.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "engine/build_options.h"
#include "engine/engine.h"
#include "kiln/status.h"

namespace kiln::cuda {
class Engine;
}

namespace kiln::engine {

// Receives one-line progress messages ("importing", "optimizing", ...).
using Progress = std::function<void(const std::string&)>;

struct BuildReport {
  std::filesystem::path path;
  uint64_t file_size = 0;
  EngineMetadata metadata;  // includes build time and verification result
  // A CUDA engine's verification built it on the GPU from the file's graph: whoever runs
  // the new file on that device and precision can take it instead of building it again.
  std::shared_ptr<cuda::Engine> verified_cuda_engine;
};

// Writes the engine to `output` atomically; nothing is written when a step fails.
// fp16/int8 on the CPU is an InvalidArgument; a GPU device this machine lacks is NotFound.
Result<BuildReport> build_engine(const std::filesystem::path& model, const BuildOptions& options,
                                 const std::filesystem::path& output, const Progress& progress = {});

// Rebuilds `engine` in place from the source model and options it records.
Result<BuildReport> rebuild_engine(const EngineInfo& engine, const Progress& progress = {});

}  // namespace kiln::engine
