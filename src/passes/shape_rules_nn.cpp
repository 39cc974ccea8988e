// Shape rules of the neural-network ops: convolutions, pooling, matrix products,
// normalization, activations and quantization.
#include <algorithm>

#include "passes/shape_rules.h"

namespace kiln::passes::shape_rules {
namespace {

using ir::Dim;
using ir::DType;
using ir::Shape;

// Same shape and dtype as input 0 (activations, softmax, batch norm's main output).
Status same_as_input(RuleContext& ctx) {
  if (const Shape* s = ctx.shape(0)) ctx.outputs[0].shape = *s;
  return Status::Ok();
}

// Spatial window geometry shared by Conv and the pools.
struct Window {
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: begins then ends
  std::string auto_pad;
};

Result<Window> read_window(const RuleContext& ctx, size_t spatial, std::vector<int64_t> kernel) {
  Window w;
  w.kernel = ctx.node.attr_ints("kernel_shape", kernel);
  w.strides = ctx.node.attr_ints("strides", std::vector<int64_t>(spatial, 1));
  w.dilations = ctx.node.attr_ints("dilations", std::vector<int64_t>(spatial, 1));
  w.pads = ctx.node.attr_ints("pads", std::vector<int64_t>(2 * spatial, 0));
  w.auto_pad = ctx.node.attr_string("auto_pad", "NOTSET");
  if (w.kernel.size() != spatial || w.strides.size() != spatial || w.dilations.size() != spatial ||
      w.pads.size() != 2 * spatial)
    return ctx.fail("kernel/strides/dilations/pads do not match ", spatial, " spatial dims");
  return w;
}

// Output size of one spatial dim of a sliding window.
Result<Dim> window_out(const RuleContext& ctx, const Window& w, size_t i, const Dim& in, bool ceil_mode) {
  int64_t k = w.kernel[i], s = w.strides[i], d = w.dilations[i];
  int64_t extent = (k - 1) * d + 1;
  if (w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER") {
    if (s == 1) return in;
    return in.is_known() ? Dim::known((in.value + s - 1) / s) : unknown_dim();
  }
  int64_t pad = w.auto_pad == "VALID" ? 0 : w.pads[i] + w.pads[i + w.kernel.size()];
  if (!in.is_known()) return s == 1 && pad == extent - 1 ? in : unknown_dim();
  int64_t span = in.value + pad - extent;
  if (span < 0) return ctx.fail("window ", extent, " larger than padded input ", in.value + pad);
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  // A last window that would start inside the end padding is dropped (ONNX/PyTorch rule).
  int64_t pad_begin = w.auto_pad == "VALID" ? 0 : w.pads[i];
  if (ceil_mode && (out - 1) * s >= in.value + pad_begin) --out;
  return Dim::known(out);
}

// Conv and ConvInteger: X [N,C,spatial...], W [M,C/group,k...].
Status conv(RuleContext& ctx) {
  if (ctx.node.op_type == "ConvInteger") ctx.outputs[0].dtype = DType::kInt32;
  const Shape* x = ctx.shape(0);
  const Shape* w = ctx.shape(1);
  if (!x || !w) return Status::Ok();
  if (x->size() < 3 || w->size() != x->size())
    return ctx.fail("input ", ir::shape_to_string(*x), " and weight ", ir::shape_to_string(*w), " ranks do not fit");
  size_t spatial = x->size() - 2;
  int64_t group = ctx.node.attr_int("group", 1);
  if ((*x)[1].is_known() && (*w)[1].is_known() && (*x)[1].value != (*w)[1].value * group)
    return ctx.fail("input channels ", (*x)[1].value, " != weight channels ", (*w)[1].value, " x group ", group);
  std::vector<int64_t> kernel;
  for (size_t i = 0; i < spatial; ++i) kernel.push_back((*w)[2 + i].value);
  KILN_ASSIGN_OR_RETURN(Window win, read_window(ctx, spatial, kernel));
  Shape out = {(*x)[0], (*w)[0]};
  for (size_t i = 0; i < spatial; ++i) {
    KILN_ASSIGN_OR_RETURN(Dim d, window_out(ctx, win, i, (*x)[2 + i], false));
    out.push_back(d);
  }
  ctx.outputs[0].shape = out;
  return Status::Ok();
}

// ConvTranspose: W [C, M/group, k...]; out = s*(in-1) + output_padding + (k-1)*d + 1 - pads.
Status conv_transpose(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  const Shape* w = ctx.shape(1);
  if (!x || !w) return Status::Ok();
  if (x->size() < 3 || w->size() != x->size()) return ctx.fail("input and weight ranks do not fit");
  size_t spatial = x->size() - 2;
  std::vector<int64_t> kernel;
  for (size_t i = 0; i < spatial; ++i) kernel.push_back((*w)[2 + i].value);
  KILN_ASSIGN_OR_RETURN(Window win, read_window(ctx, spatial, kernel));
  int64_t group = ctx.node.attr_int("group", 1);
  Dim channels = (*w)[1].is_known() ? Dim::known((*w)[1].value * group) : unknown_dim();
  Shape out = {(*x)[0], channels};
  std::vector<int64_t> explicit_out = ctx.node.attr_ints("output_shape");
  std::vector<int64_t> out_pad = ctx.node.attr_ints("output_padding", std::vector<int64_t>(spatial, 0));
  for (size_t i = 0; i < spatial; ++i) {
    const Dim& in = (*x)[2 + i];
    if (explicit_out.size() == spatial) {
      out.push_back(Dim::known(explicit_out[i]));
    } else if (!in.is_known() || win.auto_pad != "NOTSET") {
      out.push_back(in.is_known() && win.auto_pad.rfind("SAME", 0) == 0 ? Dim::known(in.value * win.strides[i])
                                                                          : unknown_dim());
    } else {
      int64_t v = win.strides[i] * (in.value - 1) + out_pad[i] + (win.kernel[i] - 1) * win.dilations[i] + 1 -
                  win.pads[i] - win.pads[i + spatial];
      out.push_back(Dim::known(v));
    }
  }
  ctx.outputs[0].shape = out;
  return Status::Ok();
}

Status pool(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  if (!x) return Status::Ok();
  if (x->size() < 3) return ctx.fail("input ", ir::shape_to_string(*x), " has no spatial dims");
  size_t spatial = x->size() - 2;
  if (!ctx.node.has_attr("kernel_shape")) return ctx.fail("missing kernel_shape");
  KILN_ASSIGN_OR_RETURN(Window win, read_window(ctx, spatial, {}));
  bool ceil_mode = ctx.node.attr_int("ceil_mode", 0) != 0;
  Shape out = {(*x)[0], (*x)[1]};
  for (size_t i = 0; i < spatial; ++i) {
    KILN_ASSIGN_OR_RETURN(Dim d, window_out(ctx, win, i, (*x)[2 + i], ceil_mode));
    out.push_back(d);
  }
  ctx.outputs[0].shape = out;
  if (ctx.outputs.size() > 1) {  // MaxPool indices
    ctx.outputs[1].dtype = DType::kInt64;
    ctx.outputs[1].shape = out;
  }
  return Status::Ok();
}

Status global_pool(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  if (!x) return Status::Ok();
  if (x->size() < 3) return ctx.fail("input ", ir::shape_to_string(*x), " has no spatial dims");
  Shape out = {(*x)[0], (*x)[1]};
  out.resize(x->size(), Dim::known(1));
  ctx.outputs[0].shape = out;
  return Status::Ok();
}

Status matmul(RuleContext& ctx) {
  const Shape* a0 = ctx.shape(0);
  const Shape* b0 = ctx.shape(1);
  if (!a0 || !b0) return Status::Ok();
  if (a0->empty() || b0->empty()) return ctx.fail("scalar operand");
  Shape a = *a0, b = *b0;
  bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), Dim::known(1));
  if (b_vec) b.push_back(Dim::known(1));
  const Dim& ka = a[a.size() - 1];
  const Dim& kb = b[b.size() - 2];
  if (ka.is_known() && kb.is_known() && ka.value != kb.value)
    return ctx.fail("inner dims differ: ", ir::shape_to_string(*a0), " x ", ir::shape_to_string(*b0));
  KILN_ASSIGN_OR_RETURN(Shape out, broadcast(ctx, Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2)));
  if (!a_vec) out.push_back(a[a.size() - 2]);
  if (!b_vec) out.push_back(b.back());
  ctx.outputs[0].shape = out;
  return Status::Ok();
}

Status gemm(RuleContext& ctx) {
  const Shape* a = ctx.shape(0);
  const Shape* b = ctx.shape(1);
  if (!a || !b) return Status::Ok();
  if (a->size() != 2 || b->size() != 2) return ctx.fail("operands must be 2-D");
  bool ta = ctx.node.attr_int("transA", 0) != 0, tb = ctx.node.attr_int("transB", 0) != 0;
  Dim m = (*a)[ta ? 1 : 0], ka = (*a)[ta ? 0 : 1];
  Dim kb = (*b)[tb ? 1 : 0], n = (*b)[tb ? 0 : 1];
  if (ka.is_known() && kb.is_known() && ka.value != kb.value)
    return ctx.fail("inner dims differ: ", ka.value, " vs ", kb.value);
  ctx.outputs[0].shape = Shape{m, n};
  return Status::Ok();
}

Status reduce_mean(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  if (!x) return Status::Ok();
  std::vector<int64_t> axes = ctx.node.attr_ints("axes");
  if (ctx.node.input(1)) {
    auto v = ctx.known_ints(1);
    if (!v) return Status::Ok();
    axes = *v;
  }
  bool keep = ctx.node.attr_int("keepdims", 1) != 0;
  if (axes.empty() && ctx.node.attr_int("noop_with_empty_axes", 0) != 0) {
    ctx.outputs[0].shape = *x;
    return Status::Ok();
  }
  std::vector<bool> reduced(x->size(), axes.empty());
  for (int64_t a : axes) {
    if (!normalize_axis(a, x->size())) return ctx.fail("axis ", a, " out of range for rank ", x->size());
    reduced[a] = true;
  }
  Shape out;
  for (size_t i = 0; i < x->size(); ++i) {
    if (!reduced[i]) out.push_back((*x)[i]);
    else if (keep) out.push_back(Dim::known(1));
  }
  ctx.outputs[0].shape = out;
  return Status::Ok();
}

Status dequantize(RuleContext& ctx) {
  ctx.outputs[0].dtype = DType::kFloat32;
  return same_as_input(ctx);
}

Status quantize(RuleContext& ctx) {
  ctx.outputs[0].dtype = ctx.node.input(2) ? ctx.dtype(2) : DType::kUInt8;
  return same_as_input(ctx);
}

Status dynamic_quantize(RuleContext& ctx) {
  ctx.outputs[0].dtype = DType::kUInt8;
  KILN_RETURN_IF_ERROR(same_as_input(ctx));
  if (ctx.outputs.size() > 1) ctx.outputs[1] = {DType::kFloat32, Shape{}, std::nullopt};
  if (ctx.outputs.size() > 2) ctx.outputs[2] = {DType::kUInt8, Shape{}, std::nullopt};
  return Status::Ok();
}

}  // namespace

void add_nn_rules(std::vector<std::pair<std::string_view, Rule>>& t) {
  for (std::string_view op : {"Relu", "Sigmoid", "SiLU", "Cos", "Sin", "Softmax", "BatchNormalization"})
    t.emplace_back(op, same_as_input);
  t.emplace_back("Conv", conv);
  t.emplace_back("ConvInteger", conv);
  t.emplace_back("ConvTranspose", conv_transpose);
  t.emplace_back("MaxPool", pool);
  t.emplace_back("AveragePool", pool);
  t.emplace_back("GlobalAveragePool", global_pool);
  t.emplace_back("MatMul", matmul);
  t.emplace_back("Gemm", gemm);
  t.emplace_back("ReduceMean", reduce_mean);
  t.emplace_back("DequantizeLinear", dequantize);
  t.emplace_back("QuantizeLinear", quantize);
  t.emplace_back("DynamicQuantizeLinear", dynamic_quantize);
}

}  // namespace kiln::passes::shape_rules
