// The geometry of a 2-D pooling node (MaxPool, AveragePool) over an NCHW input, shared by
// their planners: kernel, strides, pads, dilations and output size by ONNX's rule.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/cuda/kernels.h"
#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::cuda {

struct PoolGeometry {
  PoolShape s;  // the begin pads are s.ph / s.pw
  int64_t pad_bottom = 0, pad_right = 0;
};

// Output length of one axis: floor, or with ceil_mode ceil, where a last window that would
// start inside the end padding is dropped (as ONNX's reference and the CPU kernel do).
inline int64_t pooled_size(int64_t in, int64_t pad_begin, int64_t pad_end, int64_t window, int64_t stride,
                           bool ceil_mode) {
  const int64_t span = in + pad_begin + pad_end - window;
  if (span < 0) return 0;
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

// `x` are the input's NCHW dims. auto_pad and anything but 2-D pooling are refused, as is a
// window larger than the padded input.
inline Result<PoolGeometry> pool_geometry(const ir::Node& node, const std::vector<int64_t>& x) {
  if (node.attr_string("auto_pad", "NOTSET") != "NOTSET") return error(StatusCode::kUnsupported, "auto_pad");
  const auto k = node.attr_ints("kernel_shape");
  const auto strides = node.attr_ints("strides", {1, 1});
  const auto pads = node.attr_ints("pads", {0, 0, 0, 0});
  const auto dil = node.attr_ints("dilations", {1, 1});
  if (x.size() != 4 || k.size() != 2 || strides.size() != 2 || pads.size() != 4 || dil.size() != 2)
    return error(StatusCode::kUnsupported, "only 2-D pooling");
  if (strides[0] <= 0 || strides[1] <= 0) return error(StatusCode::kInvalidArgument, "strides must be positive");
  const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  PoolGeometry g;
  g.s = {x[0], x[2], x[3], x[1], 0, 0, k[0], k[1], strides[0], strides[1], pads[0], pads[1], dil[0], dil[1]};
  g.s.oh = pooled_size(x[2], pads[0], pads[2], dil[0] * (k[0] - 1) + 1, strides[0], ceil_mode);
  g.s.ow = pooled_size(x[3], pads[1], pads[3], dil[1] * (k[1] - 1) + 1, strides[1], ceil_mode);
  if (g.s.oh <= 0 || g.s.ow <= 0)
    return error(StatusCode::kInvalidArgument, "pooling window larger than the padded input ", ir::shape_to_string(x));
  g.pad_bottom = pads[2];
  g.pad_right = pads[3];
  return g;
}

}  // namespace kiln::cuda
