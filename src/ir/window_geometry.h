// The sliding-window attributes of Conv, ConvInteger, ConvTranspose, MaxPool and AveragePool
// (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, output_padding), read and
// checked once, before any arithmetic, for shape inference and every backend alike. A value
// that passes read_window cannot make an output-size formula divide by zero or overflow:
// counts match the spatial rank, kernel, strides and dilations are >= 1, pads >= 0, and every
// value is at most kMaxWindowValue.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/graph.h"
#include "ir/size_limits.h"
#include "kiln/status.h"

namespace kiln::ir {

// Largest kernel, stride, dilation or pad accepted (far above any real model; small enough
// that (k - 1) * d + in + pads stays well inside int64 for any dim up to ir::kMaxDim).
inline constexpr int64_t kMaxWindowValue = int64_t{1} << 20;

enum class AutoPad { kNotSet, kValid, kSameUpper, kSameLower };

struct Window {
  std::vector<int64_t> kernel, strides, dilations;
  std::vector<int64_t> pads;  // explicit pads, begins then ends (zeros unless auto_pad is NOTSET)
  std::vector<int64_t> output_padding;  // ConvTranspose only (zeros elsewhere)
  AutoPad auto_pad = AutoPad::kNotSet;
  bool ceil_mode = false;

  size_t spatial() const { return kernel.size(); }
  // (kernel - 1) * dilation + 1 of axis i.
  int64_t extent(size_t i) const { return (kernel[i] - 1) * dilations[i] + 1; }
};

// Reads and checks the window attributes of `node` for `spatial` spatial dims. Convolutions
// pass their weight's spatial dims as `weight_kernel` (kernel_shape, when given, must equal
// them); pools pass an empty vector and must have kernel_shape. InvalidArgument / Unsupported
// naming the attribute and its values, without the node (callers add it).
Result<Window> read_window(const Node& node, size_t spatial, const std::vector<int64_t>& weight_kernel);

// Pads of every axis for inputs of extents `in` (0 <= in[i] <= kMaxDim): the explicit ones,
// zeros for VALID, or ONNX's SAME_UPPER / SAME_LOWER split (the odd pad at the end / begin).
std::vector<int64_t> resolved_pads(const Window& w, const std::vector<int64_t>& in);

// Output extent of axis i of a sliding window (Conv, pools) over an input of extent `in`
// with `pads` from resolved_pads: floor((in + pads - extent) / stride) + 1, or with ceil_mode
// the ceiling, dropping a last window that would start inside the end padding (ONNX's
// reference and PyTorch). Fails when the window is larger than the padded input.
Result<int64_t> window_output_size(const Window& w, size_t i, int64_t in, const std::vector<int64_t>& pads);

// Output extents of a ConvTranspose over inputs `in`, and the pads that give them: from
// output_shape (`explicit_out`, the trailing spatial values) or a SAME auto_pad, the pads
// follow from the wanted size; otherwise stride * (in - 1) + output_padding + extent - pads.
// Fails when an extent would be < 1 or above kMaxDim.
struct TransposedSizes {
  std::vector<int64_t> out, pads;
};
Result<TransposedSizes> transposed_output_sizes(const Window& w, const std::vector<int64_t>& in,
                                                const std::vector<int64_t>& explicit_out);

}  // namespace kiln::ir
