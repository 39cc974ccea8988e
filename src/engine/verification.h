// How a build checks its engine: the engine and the model as imported run on one
// deterministic input, and the largest output difference relative to each output's scale
// must stay under the precision's bound.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "ir/graph.h"
#include "ir/tensor.h"
#include "kiln/options.h"
#include "kiln/status.h"

namespace kiln::engine {

// FP32 engines 1e-3. FP16 storage rounds every activation to 11 bits and the rounding
// accumulates with depth: yolo11n's outputs drift 1.1e-3 from FP32's, OSNet x0.25's 512-d
// feature (187 convs) 0.0116 (H200) to 0.0154 (H100) of its range; so 2e-2, which a broken
// tactic (errors of order 1) still fails. TF32 rounds inputs to the same 11 bits. INT8 rounds
// activations to 8 bits and clips them at the calibrated ranges (the verification input is
// noise, not an image like the calibration data): the bound only catches a broken engine.
inline constexpr double kInt8VerifyError = 0.5;
double max_verify_error(Precision precision);

// One deterministic input in [0, 1) per graph input; nullopt (with info.verification_note
// set) when an input has no static shape.
std::optional<std::vector<ir::Tensor>> verification_inputs(const ir::Graph& graph, BuildInfo& info);

// max |got - ref| / max |ref| over every output.
Result<double> max_relative_error(const std::vector<ir::Tensor>& got, const std::vector<ir::Tensor>& ref);

// Records `err` in `info`; Internal naming `what` when it is over `limit`.
Status check_error(double err, double limit, const std::string& what, BuildInfo& info);

}  // namespace kiln::engine
