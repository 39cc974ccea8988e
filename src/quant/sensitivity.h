// Sensitivity analysis for --int8-target-drop: which quantizable layers to keep float so that
// the INT8 model stays within a mAP50-95 drop of FP32 on held-back calibration images.
// FP32's own detections (conf 0.25, NMS) on those images are the reference; the metric is
// the box mAP50-95 of a model's val-style detections (conf 0.001, multi-label NMS) against
// them, so FP32 and INT8 are scored the same way and the drop is FP32's figure minus INT8's.
// Layers are ranked cheaply by the noise-to-signal of quantizing their input (from the
// calibration histograms) plus that of their per-channel INT8 weights; a binary search finds
// the fewest top-ranked layers to keep float (the drop assumed to shrink as more stay float).
#pragma once

#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"
#include "quant/calibrate.h"
#include "quant/quantize_graph.h"

namespace kiln::quant {

struct SensitivityOptions {
  double target_drop = 0;
  int num_classes = 0;  // class scores after the 4 box channels of output 0 ([1, 4 + classes (+ extra), anchors])
};

struct SensitivityResult {
  std::vector<std::string> keep_float;  // node names, most sensitive first
  std::vector<std::string> reasons;     // one per keep_float entry
  double fp32_map = 0;                  // FP32 against its own reference detections
  double int8_drop = 0;                 // every eligible layer INT8
  double final_drop = 0;                // with keep_float kept float
  std::string summary;                  // one line for the build output and the metadata
};

// `fresh_graph` returns the optimized FP32 graph (batch 1) anew for each trial; `base` is
// what insert_qdq keeps float anyway. Unsupported for a model whose first output is not a
// detection head of `num_classes` classes.
Result<SensitivityResult> analyze_sensitivity(const std::function<Result<ir::Graph>()>& fresh_graph,
                                              const Calibration& calibration, const QuantizeOptions& base,
                                              std::span<const std::filesystem::path> held_back,
                                              const SensitivityOptions& options,
                                              const std::function<void(const std::string&)>& progress = {});

}  // namespace kiln::quant
