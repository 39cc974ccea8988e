// Post-training calibration: the FP32 graph run over the calibration files, one image at a
// time in their sorted order, by an ActivationRunner (the CPU executor here, the GPU in CUDA
// builds: engine/calibrate_cuda.h) that hands back the activations quantized layers will
// read; each is histogrammed, and its INT8 range comes from the chosen method
// (activation_histogram.h).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/tensor.h"
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

// What runs the FP32 graph for calibration, made for a list of points (calibration_points).
class ActivationRunner {
 public:
  virtual ~ActivationRunner() = default;
  // The FP32 values of every point for one [1, 3, H, W] float32 input, in the order of the
  // points the runner was made for; valid until the next run. A point that is not float32
  // gives no values.
  virtual Result<std::vector<std::span<const float>>> run(const ir::Tensor& input) = 0;
};

// The values `points` name in `graph`: its input or a node's output; any other name is an
// InvalidArgument naming it.
Result<std::vector<ir::Value*>> find_points(const ir::Graph& graph, const std::vector<std::string>& points);

// The CPU executor with an observer that keeps each point's values. `graph` must outlive it.
Result<std::unique_ptr<ActivationRunner>> cpu_activation_runner(const ir::Graph& graph,
                                                                const std::vector<std::string>& points);

// `graph`: an optimized FP32 graph with one [1, 3, H, W] input; `points`: the values to
// range (quantize_graph.h: calibration_points), which `runner` was made for. The points are
// histogrammed in parallel; each histogram sees its values in file order, as one runner
// or another gives them. `progress` gets "calibrating 64/512" lines.
Result<Calibration> calibrate(const ir::Graph& graph, const std::vector<std::string>& points, ActivationRunner& runner,
                              std::span<const std::filesystem::path> files, const CalibrationMethod& method,
                              const std::function<void(const std::string&)>& progress = {});

// calibrate() with the CPU executor's runner.
Result<Calibration> calibrate(const ir::Graph& graph, const std::vector<std::string>& points,
                              std::span<const std::filesystem::path> files, const CalibrationMethod& method,
                              const std::function<void(const std::string&)>& progress = {});

}  // namespace kiln::quant
