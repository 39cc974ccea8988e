// Post-training calibration: the FP32 graph run on the CPU executor over the calibration
// files, one image at a time in their sorted order, with an observer that histograms the
// activations quantized layers will read; each activation's INT8 range then comes from the
// chosen method (activation_histogram.h).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/options.h"
#include "kiln/status.h"

namespace kiln::quant {

// Changes whenever the same images would give other ranges (the histogram's bins, a method's
// search), so calibrations cached by an earlier build are not reused.
inline constexpr int kCalibrationRevision = 2;

struct Calibration {
  std::map<std::string, float> ranges;  // amax by value name (quantize_graph.h: ActivationRanges)
  // Noise-to-signal power of quantizing each activation at its amax: how much INT8 costs the
  // layers that read it (the sensitivity analysis ranks layers by it).
  std::map<std::string, double> noise_to_signal;
};

// `graph`: an optimized FP32 graph with one [1, 3, H, W] input; `points`: the values to
// range (quantize_graph.h: calibration_points). A point the graph never computes is an
// InvalidArgument naming it. `progress` gets "calibrating 64/512" lines.
Result<Calibration> calibrate(const ir::Graph& graph, const std::vector<std::string>& points,
                              std::span<const std::filesystem::path> files, const CalibrationMethod& method,
                              const std::function<void(const std::string&)>& progress = {});

}  // namespace kiln::quant
