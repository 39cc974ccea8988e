// Resize (opset 11+ form: X, roi, scales, sizes) with mode nearest or linear, on any rank.
// Coordinates are mapped per axis in float32, as ONNX Runtime does, so nearest picks the
// same source pixel.
#include <cmath>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"
#include "ir/size_limits.h"

namespace kiln::cpu::ops {
namespace {

Result<float> source_coordinate(const std::string& mode, float x, float scale, int64_t out_len, int64_t in_len) {
  if (mode == "half_pixel") return (x + 0.5f) / scale - 0.5f;
  if (mode == "asymmetric") return x / scale;
  if (mode == "pytorch_half_pixel") return out_len > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
  if (mode == "tf_half_pixel_for_nn") return (x + 0.5f) / scale;
  if (mode == "align_corners")
    return out_len == 1 ? 0.0f : x * static_cast<float>(in_len - 1) / static_cast<float>(out_len - 1);
  if (mode == "half_pixel_symmetric") {
    const float adjustment = static_cast<float>(out_len) / (scale * static_cast<float>(in_len));
    const float center = static_cast<float>(in_len) / 2.0f;
    return center * (1.0f - adjustment) + (x + 0.5f) / scale - 0.5f;
  }
  return error(StatusCode::kUnsupported, "coordinate_transformation_mode ", mode, " not supported");
}

Result<int64_t> nearest_index(const std::string& mode, float x, int64_t in_len) {
  float r;
  if (mode == "round_prefer_floor") r = (x == std::floor(x) + 0.5f) ? std::floor(x) : std::round(x);
  else if (mode == "round_prefer_ceil") r = std::round(x);
  else if (mode == "floor") r = std::floor(x);
  else if (mode == "ceil") r = std::ceil(x);
  else return error(StatusCode::kUnsupported, "nearest_mode ", mode, " not supported");
  return std::clamp<int64_t>(static_cast<int64_t>(r), 0, in_len - 1);
}

struct AxisMap {
  std::vector<int64_t> lo, hi;  // source indices per output index
  std::vector<float> w_hi;      // linear weight of `hi` (0 for nearest)
};

}  // namespace

Status resize(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 1, 4));
  KILN_RETURN_IF_ERROR(require_dtype(ctx, 0, {ir::DType::kFloat32}));
  const ir::Node& node = ctx.node;
  const ir::Tensor& x = *ctx.inputs[0];
  const int64_t rank = static_cast<int64_t>(x.rank());
  const std::string mode = node.attr_string("mode", "nearest");
  const std::string coord_mode = node.attr_string("coordinate_transformation_mode", "half_pixel");
  const std::string nearest_mode = node.attr_string("nearest_mode", "round_prefer_floor");
  if (mode != "nearest" && mode != "linear") return error(StatusCode::kUnsupported, "mode ", mode, " not supported");
  if (node.attr_int("antialias", 0) != 0) return error(StatusCode::kUnsupported, "antialias is not supported");
  if (node.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch")
    return error(StatusCode::kUnsupported, "keep_aspect_ratio_policy other than stretch is not supported");

  std::vector<int64_t> axes = node.attr_ints("axes");
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  for (int64_t& a : axes) {
    KILN_ASSIGN_OR_RETURN(a, normalize_axis(a, rank));
  }
  const ir::Tensor* scales_t = ctx.inputs.size() > 2 ? ctx.inputs[2] : nullptr;
  const ir::Tensor* sizes_t = ctx.inputs.size() > 3 ? ctx.inputs[3] : nullptr;
  if (scales_t && scales_t->numel() == 0) scales_t = nullptr;
  if (sizes_t && sizes_t->numel() == 0) sizes_t = nullptr;
  if (!scales_t == !sizes_t) return error(StatusCode::kInvalidArgument, "exactly one of scales and sizes is needed");

  std::vector<float> scales(static_cast<size_t>(rank), 1.0f);
  std::vector<int64_t> out_shape = x.shape();
  const ir::Tensor given = scales_t ? scales_t->to_float32() : *sizes_t;
  if (given.numel() != static_cast<int64_t>(axes.size()))
    return error(StatusCode::kInvalidArgument, "scales/sizes need ", axes.size(), " values, got ", given.numel());
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t a = axes[i];
    if (scales_t) {
      scales[a] = given.data<float>()[i];
      const float out_len = std::floor(static_cast<float>(x.dim(a)) * scales[a]);
      if (!(scales[a] > 0.0f) || !(out_len <= static_cast<float>(ir::kMaxDim)))  // also NaN and infinities
        return error(StatusCode::kInvalidArgument, "scale ", scales[a], " must be positive and keep dims within 2^31");
      out_shape[a] = static_cast<int64_t>(out_len);
    } else {
      out_shape[a] = sizes_t->as_int64()[i];
      scales[a] = static_cast<float>(out_shape[a]) / static_cast<float>(x.dim(a));
    }
  }

  KILN_RETURN_IF_ERROR(ir::check_output_shape(out_shape));
  std::vector<AxisMap> maps(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) {
    AxisMap& m = maps[d];
    const int64_t in_len = x.dim(d), out_len = out_shape[d];
    for (int64_t o = 0; o < out_len; ++o) {
      KILN_ASSIGN_OR_RETURN(float src, source_coordinate(coord_mode, static_cast<float>(o), scales[d], out_len, in_len));
      if (mode == "nearest") {
        KILN_ASSIGN_OR_RETURN(const int64_t i, nearest_index(nearest_mode, src, in_len));
        m.lo.push_back(i), m.hi.push_back(i), m.w_hi.push_back(0.0f);
      } else {
        src = std::clamp(src, 0.0f, static_cast<float>(in_len - 1));
        const int64_t i0 = static_cast<int64_t>(src);
        m.lo.push_back(i0), m.hi.push_back(std::min(i0 + 1, in_len - 1));
        m.w_hi.push_back(src - static_cast<float>(i0));
      }
    }
  }

  // Axes that interpolate (some weight non-zero) take 2 taps each; the rest take one.
  std::vector<int64_t> interp;
  for (int64_t d = 0; d < rank; ++d)
    for (float w : maps[d].w_hi)
      if (w != 0.0f) {
        interp.push_back(d);
        break;
      }
  const std::vector<int64_t> in_strides = strides_of(x.shape());
  ir::Tensor y(ir::DType::kFloat32, out_shape);
  const float* src = x.data<float>();
  float* dst = y.data<float>();
  const std::vector<int64_t> zeros(static_cast<size_t>(rank), 0);
  const int64_t corners = int64_t{1} << interp.size();
  std::vector<int64_t> idx(static_cast<size_t>(rank), 0);
  for_each_offset(out_shape, zeros, [&](int64_t i, int64_t) {
    // Recover the output index from the flat position (row-major).
    for (int64_t d = rank - 1, rem = i; d >= 0; --d) {
      idx[d] = rem % out_shape[d];
      rem /= out_shape[d];
    }
    float acc = 0.0f;
    for (int64_t c = 0; c < corners; ++c) {
      float weight = 1.0f;
      int64_t off = 0;
      for (int64_t d = 0, bit = 0; d < rank; ++d) {
        const AxisMap& m = maps[d];
        const bool is_interp = bit < static_cast<int64_t>(interp.size()) && interp[bit] == d;
        if (is_interp && ((c >> bit++) & 1)) {
          off += m.hi[idx[d]] * in_strides[d];
          weight *= m.w_hi[idx[d]];
        } else {
          off += m.lo[idx[d]] * in_strides[d];
          if (is_interp) weight *= 1.0f - m.w_hi[idx[d]];
        }
      }
      acc += weight * src[off];
    }
    dst[i] = acc;
  });
  ctx.outputs.push_back(std::move(y));
  return Status::Ok();
}

}  // namespace kiln::cpu::ops
