// 2-D pooling geometry shared by MaxPool and AveragePool.
#pragma once

#include <cstdint>

#include "backends/cpu/ops/op_util.h"

namespace kiln::cpu {

struct PoolGeometry {
  int64_t nc = 0, h = 0, w = 0;  // batch*channels, input plane
  int64_t kh = 1, kw = 1, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  int64_t oh = 0, ow = 0;
};

// kernel_shape, strides, dilations, pads, auto_pad, ceil_mode for an NCHW input, read and
// checked by ir::read_window; output sizes by ir::window_output_size.
// With ceil_mode a last window starting beyond the input and its leading pad is dropped
// (as ONNX's reference and PyTorch do).
Result<PoolGeometry> pool_geometry(const ir::Node& node, const std::vector<int64_t>& x_shape);

}  // namespace kiln::cpu
