// compile()'s INT8 step, on the optimized FP32 graph: a model that arrived with Q/DQ nodes
// keeps its scales (describe_qdq); any other is calibrated (calibration cache, then
// calibrate.h on the build's calibration data), optionally analysed for sensitivity
// (--int8-target-drop), and gets Q/DQ pairs (insert_qdq). Both are then lowered to integer
// convs (passes/lower_qdq.h), which the CPU backend runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "engine/build_options.h"
#include "engine/engine.h"
#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::engine {

struct Int8Model {
  const std::filesystem::path& path;
  std::span<const uint8_t> bytes;
  int num_classes = 0;  // the detection head's classes (sensitivity analysis)
  // The optimized FP32 graph at batch 1, made anew on each call (calibration and trials).
  std::function<Result<ir::Graph>()> graph_at_batch_1;
};

// Quantizes `graph` in place and fills info.int8. --precision int8 without --calib on a
// model without Q/DQ nodes is an InvalidArgument saying what to pass.
Status quantize_for_int8(ir::Graph& graph, const Int8Model& model, const BuildOptions& options, BuildInfo& info,
                         const std::function<void(const std::string&)>& say);

}  // namespace kiln::engine
