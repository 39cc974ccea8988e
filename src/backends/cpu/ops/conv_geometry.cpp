#include "backends/cpu/ops/conv_geometry.h"

#include "ir/window_geometry.h"

namespace kiln::cpu {

Result<ConvGeometry> conv_geometry(const ir::Node& node, const std::vector<int64_t>& x_shape,
                                   const std::vector<int64_t>& w_shape) {
  if (x_shape.size() != 4 || w_shape.size() != 4)
    return error(StatusCode::kUnsupported, "only 2-D convolution (rank-4 input and weight) is supported, got input ",
                 ir::shape_to_string(x_shape), " weight ", ir::shape_to_string(w_shape));
  ConvGeometry g;
  g.n = x_shape[0], g.c = x_shape[1], g.h = x_shape[2], g.w = x_shape[3];
  g.m = w_shape[0], g.kh = w_shape[2], g.kw = w_shape[3];
  g.group = node.attr_int("group", 1);
  if (g.group <= 0 || g.c % g.group != 0 || g.m % g.group != 0 || w_shape[1] != g.c / g.group)
    return error(StatusCode::kInvalidArgument, "input ", ir::shape_to_string(x_shape), " and weight ",
                 ir::shape_to_string(w_shape), " do not match group ", g.group);
  KILN_ASSIGN_OR_RETURN(ir::Window win, ir::read_window(node, 2, {g.kh, g.kw}));
  const std::vector<int64_t> pads = ir::resolved_pads(win, {g.h, g.w});
  g.stride_h = win.strides[0], g.stride_w = win.strides[1], g.dil_h = win.dilations[0], g.dil_w = win.dilations[1];
  g.pad_t = pads[0], g.pad_l = pads[1], g.pad_b = pads[2], g.pad_r = pads[3];
  KILN_ASSIGN_OR_RETURN(g.oh, ir::window_output_size(win, 0, g.h, pads));
  KILN_ASSIGN_OR_RETURN(g.ow, ir::window_output_size(win, 1, g.w, pads));
  return g;
}

}  // namespace kiln::cpu
