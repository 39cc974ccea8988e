// Writes engines: compile() (compile.h: import, optimize, plan on the GPU, verify) and the
// .kiln file, atomically. Rebuilds an engine from the source model it records.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "engine/build_options.h"
#include "engine/compile.h"
#include "engine/engine.h"
#include "kiln/status.h"

namespace kiln::engine {

struct BuildReport {
  std::filesystem::path path;
  uint64_t file_size = 0;
  EngineMetadata metadata;  // includes build time and verification result
  // The CUDA engines the build planned (and verified): whoever runs the new file on that
  // device takes them instead of loading them again.
  std::shared_ptr<CudaEngines> cuda;
};

// Writes the engine to `output` atomically; nothing is written when a step fails.
Result<BuildReport> build_engine(const std::filesystem::path& model, const BuildOptions& options,
                                 const std::filesystem::path& output, const Progress& progress = {});

// Rebuilds `engine` in place from the source model and options it records, signed with
// `key` if set. The source must still be the file it was built from (same SHA-256): a
// changed or replaced source is an error, never a silent rebuild from another model.
Result<BuildReport> rebuild_engine(const EngineInfo& engine, const std::optional<SigningKey>& key,
                                   const Progress& progress = {});

}  // namespace kiln::engine
