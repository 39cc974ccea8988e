// The geometry of a 2-D pooling node (MaxPool, AveragePool) over an NCHW input, shared by
// their planners: kernel, strides, pads, dilations and output size by ONNX's rule, read and
// checked by ir::read_window / window_output_size as on the CPU side.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/cuda/kernels.h"
#include "ir/graph.h"
#include "ir/window_geometry.h"
#include "kiln/status.h"

namespace kiln::cuda {

struct PoolGeometry {
  PoolShape s;  // the begin pads are s.ph / s.pw
  int64_t pad_bottom = 0, pad_right = 0;
};

// `x` are the input's NCHW dims. Anything but 2-D pooling is refused, as is a window larger
// than the padded input; auto_pad becomes explicit pads.
inline Result<PoolGeometry> pool_geometry(const ir::Node& node, const std::vector<int64_t>& x) {
  if (x.size() != 4)
    return error(StatusCode::kUnsupported, "only 2-D pooling (rank-4 input), got ", ir::shape_to_string(x));
  KILN_ASSIGN_OR_RETURN(const ir::Window win, ir::read_window(node, 2, {}));
  const std::vector<int64_t> pads = ir::resolved_pads(win, {x[2], x[3]});
  PoolGeometry g;
  g.s = {x[0],           x[2],           x[3],       x[1],       0,       0,
         win.kernel[0],  win.kernel[1],  win.strides[0], win.strides[1], pads[0], pads[1],
         win.dilations[0], win.dilations[1]};
  KILN_ASSIGN_OR_RETURN(g.s.oh, ir::window_output_size(win, 0, x[2], pads));
  KILN_ASSIGN_OR_RETURN(g.s.ow, ir::window_output_size(win, 1, x[3], pads));
  g.pad_bottom = pads[2];
  g.pad_right = pads[3];
  return g;
}

}  // namespace kiln::cuda
