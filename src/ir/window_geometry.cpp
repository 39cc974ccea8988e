#include "ir/window_geometry.h"

#include <algorithm>

#include "ir/tensor.h"

namespace kiln::ir {
namespace {

Status check_range(const char* name, const std::vector<int64_t>& v, int64_t lo) {
  for (int64_t x : v)
    if (x < lo || x > kMaxWindowValue)
      return error(StatusCode::kInvalidArgument, name, " ", shape_to_string(v), " out of range (each must be in [", lo,
                   ", ", kMaxWindowValue, "])");
  return Status::Ok();
}

Result<AutoPad> parse_auto_pad(const std::string& s) {
  if (s.empty() || s == "NOTSET") return AutoPad::kNotSet;
  if (s == "VALID") return AutoPad::kValid;
  if (s == "SAME_UPPER") return AutoPad::kSameUpper;
  if (s == "SAME_LOWER") return AutoPad::kSameLower;
  return error(StatusCode::kInvalidArgument, "auto_pad '", s, "' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
}

bool is_same(AutoPad p) { return p == AutoPad::kSameUpper || p == AutoPad::kSameLower; }

}  // namespace

Result<Window> read_window(const Node& node, size_t spatial, const std::vector<int64_t>& weight_kernel) {
  Window w;
  if (node.has_attr("kernel_shape")) {
    w.kernel = node.attr_ints("kernel_shape");
    if (!weight_kernel.empty()) {
      bool same = w.kernel.size() == weight_kernel.size();
      for (size_t i = 0; same && i < w.kernel.size(); ++i)
        same = weight_kernel[i] < 0 || weight_kernel[i] == w.kernel[i];  // < 0: weight dim unknown
      if (!same)
        return error(StatusCode::kInvalidArgument, "kernel_shape ", shape_to_string(w.kernel),
                     " does not match the weight's ", shape_to_string(weight_kernel));
    }
  } else if (!weight_kernel.empty()) {
    w.kernel = weight_kernel;
  } else {
    return error(StatusCode::kInvalidArgument, "missing kernel_shape");
  }
  w.strides = node.attr_ints("strides", std::vector<int64_t>(spatial, 1));
  w.dilations = node.attr_ints("dilations", std::vector<int64_t>(spatial, 1));
  w.pads = node.attr_ints("pads", std::vector<int64_t>(2 * spatial, 0));
  const bool transposed = node.op_type == "ConvTranspose";
  w.output_padding = transposed ? node.attr_ints("output_padding", std::vector<int64_t>(spatial, 0))
                                : std::vector<int64_t>(spatial, 0);
  if (w.kernel.size() != spatial || w.strides.size() != spatial || w.dilations.size() != spatial ||
      w.pads.size() != 2 * spatial || w.output_padding.size() != spatial)
    return error(StatusCode::kInvalidArgument, "kernel_shape ", shape_to_string(w.kernel), ", strides ",
                 shape_to_string(w.strides), ", dilations ", shape_to_string(w.dilations), ", pads ",
                 shape_to_string(w.pads), " do not match ", spatial, " spatial dims");
  KILN_RETURN_IF_ERROR(check_range("kernel_shape", w.kernel, 1));
  KILN_RETURN_IF_ERROR(check_range("strides", w.strides, 1));
  KILN_RETURN_IF_ERROR(check_range("dilations", w.dilations, 1));
  KILN_RETURN_IF_ERROR(check_range("pads", w.pads, 0));
  KILN_RETURN_IF_ERROR(check_range("output_padding", w.output_padding, 0));
  for (size_t i = 0; i < spatial; ++i)
    if (w.output_padding[i] >= std::max(w.strides[i], w.dilations[i]))
      return error(StatusCode::kInvalidArgument, "output_padding ", shape_to_string(w.output_padding),
                   " must be smaller than the stride or the dilation");
  KILN_ASSIGN_OR_RETURN(w.auto_pad, parse_auto_pad(node.attr_string("auto_pad", "NOTSET")));
  if (w.auto_pad != AutoPad::kNotSet) std::fill(w.pads.begin(), w.pads.end(), 0);
  const int64_t ceil_mode = node.attr_int("ceil_mode", 0);
  if (ceil_mode != 0 && ceil_mode != 1)
    return error(StatusCode::kInvalidArgument, "ceil_mode ", ceil_mode, " is not 0 or 1");
  w.ceil_mode = ceil_mode == 1;
  return w;
}

std::vector<int64_t> resolved_pads(const Window& w, const std::vector<int64_t>& in) {
  const size_t n = w.spatial();
  if (!is_same(w.auto_pad)) return w.pads;  // explicit, or zeros for VALID
  std::vector<int64_t> pads(2 * n, 0);
  for (size_t i = 0; i < n; ++i) {
    const int64_t out = (in[i] + w.strides[i] - 1) / w.strides[i];
    const int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + w.extent(i) - in[i]);
    pads[i] = w.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
    pads[i + n] = total - pads[i];
  }
  return pads;
}

Result<int64_t> window_output_size(const Window& w, size_t i, int64_t in, const std::vector<int64_t>& pads) {
  if (in < 0 || in > kMaxDim) return error(StatusCode::kInvalidArgument, "input extent ", in, " out of range");
  const int64_t begin = pads[i], padded = in + begin + pads[i + w.spatial()];
  const int64_t span = padded - w.extent(i), s = w.strides[i];
  if (span < 0)
    return error(StatusCode::kInvalidArgument, "window ", w.extent(i), " larger than the padded input ", padded);
  int64_t out = (w.ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (w.ceil_mode && (out - 1) * s >= in + begin) --out;
  return out;
}

Result<TransposedSizes> transposed_output_sizes(const Window& w, const std::vector<int64_t>& in,
                                                const std::vector<int64_t>& explicit_out) {
  const size_t n = w.spatial();
  if (!explicit_out.empty() && explicit_out.size() < n)
    return error(StatusCode::kInvalidArgument, "output_shape ", shape_to_string(explicit_out), " has fewer than ", n,
                 " values");
  TransposedSizes r{std::vector<int64_t>(n), w.pads};
  for (size_t i = 0; i < n; ++i) {
    if (in[i] < 1 || in[i] > kMaxDim) return error(StatusCode::kInvalidArgument, "input extent ", in[i], " out of range");
    const int64_t full = w.strides[i] * (in[i] - 1) + w.output_padding[i] + w.extent(i);
    if (!explicit_out.empty() || is_same(w.auto_pad)) {
      const int64_t target = !explicit_out.empty() ? explicit_out[explicit_out.size() - n + i] : in[i] * w.strides[i];
      if (target < 1 || target > full)
        return error(StatusCode::kInvalidArgument, "output size ", target, " not reachable (full output ", full, ")");
      const int64_t total = full - target;
      r.pads[i] = w.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
      r.pads[i + n] = total - r.pads[i];
    }
    r.out[i] = full - r.pads[i] - r.pads[i + n];
    if (r.out[i] < 1 || r.out[i] > kMaxDim)
      return error(StatusCode::kInvalidArgument, "output size would be ", r.out[i]);
  }
  return r;
}

}  // namespace kiln::ir
