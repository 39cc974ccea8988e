// The one compile path: an ONNX model and BuildOptions -> an engine in memory: metadata, the
// optimized graph, and on a CUDA device the plan of every prepared batch size (tuned here,
// through the timing cache), verified against the model as imported. kiln build and the
// engine cache write it to a .kiln file (builder.h); the dynamic-size runner and kiln bench
// run it as it is.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/build_options.h"
#include "engine/cuda_engines.h"
#include "engine/engine.h"
#include "kiln/status.h"

namespace kiln::engine {

// Receives one-line progress messages, one per phase ("importing", "planning batch 8", ...);
// a long phase of counted steps (calibration) sends "<what> <done>/<total> ..." as it goes
// ("calibrating 37/512 images"): the CLI prints such a series at most every few seconds and
// at its last count.
using Progress = std::function<void(const std::string&)>;

struct CompiledModel {
  EngineMetadata metadata;  // build time and verification result included
  ir::Graph graph;          // optimized; the batch stays symbolic when several are prepared
  EnginePlans plans;        // what the engine file records of the CUDA plans
  std::shared_ptr<CudaEngines> cuda;  // the CUDA engines, when built on a GPU here
};

// An ONNX model file read and hashed once, for compiling it several times (the dynamic-size
// runner builds one engine per input size and must not read and hash the file for each).
struct SourceModel {
  std::filesystem::path path;
  std::vector<uint8_t> bytes;
  std::string sha256;  // of bytes, hex
};
Result<SourceModel> read_source_model(const std::filesystem::path& model);

// fp16/tf32 on the CPU is an InvalidArgument; a GPU this machine lacks is NotFound. A CUDA
// device without a usable GPU (or a kiln without CUDA) gives an engine with no plans,
// recorded as unverified (metadata says why); loading it on a GPU asks for a rebuild.
Result<CompiledModel> compile(const SourceModel& model, const BuildOptions& options, const Progress& progress = {});
Result<CompiledModel> compile(const std::filesystem::path& model, const BuildOptions& options,
                              const Progress& progress = {});

// The timing cache a build uses: options.timing_cache, else cuda_timing_cache.tsv in the
// engine cache directory (cache.h: default_cache_dir).
std::filesystem::path timing_cache_path(const BuildOptions& options);

}  // namespace kiln::engine
