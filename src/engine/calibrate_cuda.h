// Calibration on the GPU: the FP32 graph at batch 1 built once with the CUDA backend, every
// calibration point made a graph output, run per image with the points copied to the host
// (quant/calibrate.h: ActivationRunner). Strict FP32 (no TF32, no FP16) and cuDNN's
// heuristic plans untimed, so the same images give bit-identical values, and ranges, on one
// GPU; they differ from the CPU executor's by rounding (a different summation order).
// Runs in CUDA builds only; without CUDA there is no GPU to name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/options.h"
#include "kiln/status.h"
#include "quant/calibrate.h"

namespace kiln::engine {

// The GPU calibration for a build on `device` would run on ("NVIDIA H200, cc 9.0, CUDA
// runtime 13000, cuDNN 91900"): empty unless `device` is a CUDA device this kiln can use.
std::string calibration_gpu(const Device& device);

// The runner on `device` (calibration_gpu must have named it) for `points` of `graph` (an
// optimized FP32 graph with one static [1, 3, H, W] input), which it takes over.
Result<std::unique_ptr<quant::ActivationRunner>> cuda_activation_runner(ir::Graph graph,
                                                                        const std::vector<std::string>& points,
                                                                        const Device& device);

}  // namespace kiln::engine
