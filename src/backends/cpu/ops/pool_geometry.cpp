#include "backends/cpu/ops/pool_geometry.h"

namespace kiln::cpu {
namespace {

int64_t pooled_size(int64_t in, int64_t pad_begin, int64_t pad_end, int64_t k, int64_t stride, int64_t dil,
                    bool ceil_mode) {
  const int64_t span = in + pad_begin + pad_end - ((k - 1) * dil + 1);
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

}  // namespace

Result<PoolGeometry> pool_geometry(const ir::Node& node, const std::vector<int64_t>& x_shape) {
  if (x_shape.size() != 4)
    return error(StatusCode::kUnsupported, "only 2-D pooling (rank-4 input) is supported, got ",
                 ir::shape_to_string(x_shape));
  PoolGeometry g;
  g.nc = x_shape[0] * x_shape[1], g.h = x_shape[2], g.w = x_shape[3];
  const std::vector<int64_t> ks = node.attr_ints("kernel_shape");
  const std::vector<int64_t> strides = node.attr_ints("strides", {1, 1});
  const std::vector<int64_t> dilations = node.attr_ints("dilations", {1, 1});
  if (ks.size() != 2 || strides.size() != 2 || dilations.size() != 2)
    return error(StatusCode::kInvalidArgument, "kernel_shape, strides and dilations need 2 values");
  std::vector<int64_t> pads = node.attr_ints("pads");
  KILN_RETURN_IF_ERROR(resolve_auto_pad(node.attr_string("auto_pad", "NOTSET"), {g.h, g.w}, ks, strides, dilations, pads));
  g.kh = ks[0], g.kw = ks[1], g.stride_h = strides[0], g.stride_w = strides[1];
  g.dil_h = dilations[0], g.dil_w = dilations[1];
  g.pad_t = pads[0], g.pad_l = pads[1], g.pad_b = pads[2], g.pad_r = pads[3];
  const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  g.oh = pooled_size(g.h, g.pad_t, g.pad_b, g.kh, g.stride_h, g.dil_h, ceil_mode);
  g.ow = pooled_size(g.w, g.pad_l, g.pad_r, g.kw, g.stride_w, g.dil_w, ceil_mode);
  if (g.oh <= 0 || g.ow <= 0)
    return error(StatusCode::kInvalidArgument, "pooling window larger than padded input ", ir::shape_to_string(x_shape));
  return g;
}

}  // namespace kiln::cpu
