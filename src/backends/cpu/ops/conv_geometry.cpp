#include "backends/cpu/ops/conv_geometry.h"

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
  const std::vector<int64_t> ks = node.attr_ints("kernel_shape", {g.kh, g.kw});
  if (ks != std::vector<int64_t>{g.kh, g.kw})
    return error(StatusCode::kInvalidArgument, "kernel_shape does not match weight ", ir::shape_to_string(w_shape));
  const std::vector<int64_t> strides = node.attr_ints("strides", {1, 1});
  const std::vector<int64_t> dilations = node.attr_ints("dilations", {1, 1});
  if (strides.size() != 2 || dilations.size() != 2 || strides[0] <= 0 || strides[1] <= 0 || dilations[0] <= 0 ||
      dilations[1] <= 0)
    return error(StatusCode::kInvalidArgument, "strides and dilations need 2 positive values");
  std::vector<int64_t> pads = node.attr_ints("pads");
  KILN_RETURN_IF_ERROR(
      resolve_auto_pad(node.attr_string("auto_pad", "NOTSET"), {g.h, g.w}, {g.kh, g.kw}, strides, dilations, pads));
  g.stride_h = strides[0], g.stride_w = strides[1], g.dil_h = dilations[0], g.dil_w = dilations[1];
  g.pad_t = pads[0], g.pad_l = pads[1], g.pad_b = pads[2], g.pad_r = pads[3];
  g.oh = (g.h + g.pad_t + g.pad_b - ((g.kh - 1) * g.dil_h + 1)) / g.stride_h + 1;
  g.ow = (g.w + g.pad_l + g.pad_r - ((g.kw - 1) * g.dil_w + 1)) / g.stride_w + 1;
  if (g.oh <= 0 || g.ow <= 0)
    return error(StatusCode::kInvalidArgument, "kernel larger than padded input ", ir::shape_to_string(x_shape));
  return g;
}

}  // namespace kiln::cpu
