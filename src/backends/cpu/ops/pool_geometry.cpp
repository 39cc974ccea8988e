#include "backends/cpu/ops/pool_geometry.h"

#include "ir/window_geometry.h"

namespace kiln::cpu {

Result<PoolGeometry> pool_geometry(const ir::Node& node, const std::vector<int64_t>& x_shape) {
  if (x_shape.size() != 4)
    return error(StatusCode::kUnsupported, "only 2-D pooling (rank-4 input) is supported, got ",
                 ir::shape_to_string(x_shape));
  PoolGeometry g;
  g.nc = x_shape[0] * x_shape[1], g.h = x_shape[2], g.w = x_shape[3];
  KILN_ASSIGN_OR_RETURN(ir::Window win, ir::read_window(node, 2, {}));
  const std::vector<int64_t> pads = ir::resolved_pads(win, {g.h, g.w});
  g.kh = win.kernel[0], g.kw = win.kernel[1], g.stride_h = win.strides[0], g.stride_w = win.strides[1];
  g.dil_h = win.dilations[0], g.dil_w = win.dilations[1];
  g.pad_t = pads[0], g.pad_l = pads[1], g.pad_b = pads[2], g.pad_r = pads[3];
  KILN_ASSIGN_OR_RETURN(g.oh, ir::window_output_size(win, 0, g.h, pads));
  KILN_ASSIGN_OR_RETURN(g.ow, ir::window_output_size(win, 1, g.w, pads));
  return g;
}

}  // namespace kiln::cpu
