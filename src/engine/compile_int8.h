// compile()'s INT8 step, on the optimized FP32 graph: a model that arrived with Q/DQ nodes
// keeps its scales (describe_qdq); any other is calibrated (calibration cache, then
// calibrate.h on the build's calibration data, on the GPU of a CUDA build where one is usable:
// calibrate_cuda.h), optionally analysed for sensitivity (--int8-target-drop), and gets Q/DQ
// pairs (insert_qdq). Both are then lowered to integer convs (passes/lower_qdq.h), which the
// CPU and CUDA backends run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/build_options.h"
#include "engine/engine.h"
#include "ir/graph.h"
#include "kiln/status.h"
#include "quant/quantize_graph.h"

namespace kiln::engine {

struct Int8Model {
  const std::filesystem::path& path;
  std::span<const uint8_t> bytes;
  int num_classes = 0;  // the detection head's classes (sensitivity analysis)
  // The optimized FP32 graph at batch 1, made anew on each call (calibration and trials).
  std::function<Result<ir::Graph>()> graph_at_batch_1;
};

// How this build quantizes, decided once (calibration cache or calibration, sensitivity
// analysis) and applied to the engine's graph and to the graph of every CUDA batch plan, so
// each planned batch runs the same quantized model.
class Int8Quantizer {
 public:
  // Inserts the Q/DQ pairs (a Q/DQ model keeps its own) and lowers them to integer convs;
  // `layers`, where given, receives the precision chosen for each layer and why.
  Status apply(ir::Graph& graph, std::vector<quant::LayerChoice>* layers = nullptr) const;

 private:
  friend Result<Int8Quantizer> plan_int8(const ir::Graph&, const Int8Model&, const BuildOptions&, BuildInfo&,
                                         const std::function<void(const std::string&)>&);
  bool qdq_model_ = false;
  quant::ActivationRanges ranges_;
  quant::QuantizeOptions options_;
  std::vector<std::string> keep_float_reasons_;  // beside options_.keep_float
};

// Plans the quantization of `graph` (the optimized FP32 model) and fills info.int8, all but
// its layers (Int8Quantizer::apply). --precision int8 without --calib on a model without
// Q/DQ nodes is an InvalidArgument saying what to pass.
Result<Int8Quantizer> plan_int8(const ir::Graph& graph, const Int8Model& model, const BuildOptions& options,
                                BuildInfo& info, const std::function<void(const std::string&)>& say);

}  // namespace kiln::engine
