// Shape rules of the neural-network ops: convolutions, pooling, matrix products,
// normalization, activations and quantization.
#include <algorithm>

#include "ir/qconv_int8.h"
#include "ir/window_geometry.h"
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

// The node's window attributes (ir::read_window), failing with the node's name.
Result<ir::Window> read_window(const RuleContext& ctx, size_t spatial, const std::vector<int64_t>& weight_kernel) {
  Result<ir::Window> w = ir::read_window(ctx.node, spatial, weight_kernel);
  if (!w.ok()) return ctx.fail(w.status().message());
  return w;
}

// Output size of one spatial dim of a sliding window; symbolic inputs stay symbolic where
// the size cannot change (stride 1 with "same" padding), else unknown.
Result<Dim> window_out(const RuleContext& ctx, const ir::Window& w, size_t i, const Dim& in) {
  const int64_t s = w.strides[i];
  const bool same = w.auto_pad == ir::AutoPad::kSameUpper || w.auto_pad == ir::AutoPad::kSameLower;
  if (!in.is_known()) {
    const int64_t pad = w.pads[i] + w.pads[i + w.spatial()];
    return s == 1 && (same || (w.auto_pad == ir::AutoPad::kNotSet && pad == w.extent(i) - 1)) ? in : unknown_dim();
  }
  std::vector<int64_t> extents(w.spatial(), 0);
  extents[i] = in.value;
  Result<int64_t> out = ir::window_output_size(w, i, in.value, ir::resolved_pads(w, extents));
  if (!out.ok()) return ctx.fail(out.status().message());
  return Dim::known(*out);
}

// A convolution's group: >= 1 and dividing the channels (checked where they are known).
Result<int64_t> read_group(const RuleContext& ctx) {
  const int64_t group = ctx.node.attr_int("group", 1);
  if (group < 1 || group > ir::kMaxDim) return ctx.fail("group ", group, " out of range");
  return group;
}

// The weight's spatial dims (-1 where unknown), for kernel_shape's default.
std::vector<int64_t> weight_kernel(const Shape& w) {
  std::vector<int64_t> kernel;
  for (size_t i = 2; i < w.size(); ++i) kernel.push_back(w[i].is_known() ? w[i].value : -1);
  return kernel;
}

// Conv, ConvInteger and QConvInt8: X [N,C,spatial...], W [M,C/group,k...] (input w_index).
Status conv_with_weight(RuleContext& ctx, size_t w_index) {
  const Shape* x = ctx.shape(0);
  const Shape* w = ctx.shape(w_index);
  if (!x || !w) return Status::Ok();
  if (x->size() < 3 || w->size() != x->size())
    return ctx.fail("input ", ir::shape_to_string(*x), " and weight ", ir::shape_to_string(*w), " ranks do not fit");
  size_t spatial = x->size() - 2;
  KILN_ASSIGN_OR_RETURN(int64_t group, read_group(ctx));
  if ((*x)[1].is_known() && (*w)[1].is_known() && (*x)[1].value != (*w)[1].value * group)
    return ctx.fail("input channels ", (*x)[1].value, " != weight channels ", (*w)[1].value, " x group ", group);
  if ((*w)[0].is_known() && (*w)[0].value % group != 0)
    return ctx.fail("output channels ", (*w)[0].value, " not divisible by group ", group);
  KILN_ASSIGN_OR_RETURN(ir::Window win, read_window(ctx, spatial, weight_kernel(*w)));
  Shape out = {(*x)[0], (*w)[0]};
  for (size_t i = 0; i < spatial; ++i) {
    KILN_ASSIGN_OR_RETURN(Dim d, window_out(ctx, win, i, (*x)[2 + i]));
    out.push_back(d);
  }
  ctx.outputs[0].shape = out;
  return Status::Ok();
}

Status conv(RuleContext& ctx) {
  if (ctx.node.op_type == "ConvInteger") ctx.outputs[0].dtype = DType::kInt32;
  return conv_with_weight(ctx, 1);
}

// QConvInt8 (ir/qconv_int8.h): int8 out when it requantizes, else float.
Status qconv_int8(RuleContext& ctx) {
  ctx.outputs[0].dtype = ctx.node.input(ir::qconv::kYScale) ? DType::kInt8 : DType::kFloat32;
  return conv_with_weight(ctx, ir::qconv::kW);
}

// ConvTranspose: W [C, M/group, k...]; out = s*(in-1) + output_padding + (k-1)*d + 1 - pads.
Status conv_transpose(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  const Shape* w = ctx.shape(1);
  if (!x || !w) return Status::Ok();
  if (x->size() < 3 || w->size() != x->size()) return ctx.fail("input and weight ranks do not fit");
  size_t spatial = x->size() - 2;
  KILN_ASSIGN_OR_RETURN(ir::Window win, read_window(ctx, spatial, weight_kernel(*w)));
  KILN_ASSIGN_OR_RETURN(int64_t group, read_group(ctx));
  if ((*x)[1].is_known() && (*w)[0].is_known() && (*x)[1].value != (*w)[0].value)
    return ctx.fail("input channels ", (*x)[1].value, " != weight's first dim ", (*w)[0].value);
  Dim channels = (*w)[1].is_known() ? Dim::known((*w)[1].value * group) : unknown_dim();
  Shape out = {(*x)[0], channels};
  const std::vector<int64_t> explicit_out = ctx.node.attr_ints("output_shape");
  std::vector<int64_t> in;
  for (size_t i = 0; i < spatial; ++i) in.push_back((*x)[2 + i].value);
  if (std::all_of(in.begin(), in.end(), [](int64_t v) { return v >= 0; })) {
    Result<ir::TransposedSizes> sizes = ir::transposed_output_sizes(win, in, explicit_out);
    if (!sizes.ok()) return ctx.fail(sizes.status().message());
    for (int64_t v : sizes->out) out.push_back(Dim::known(v));
  } else {
    out.resize(2 + spatial, unknown_dim());
  }
  ctx.outputs[0].shape = out;
  return Status::Ok();
}

Status pool(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  if (!x) return Status::Ok();
  if (x->size() < 3) return ctx.fail("input ", ir::shape_to_string(*x), " has no spatial dims");
  size_t spatial = x->size() - 2;
  KILN_ASSIGN_OR_RETURN(ir::Window win, read_window(ctx, spatial, {}));
  Shape out = {(*x)[0], (*x)[1]};
  for (size_t i = 0; i < spatial; ++i) {
    KILN_ASSIGN_OR_RETURN(Dim d, window_out(ctx, win, i, (*x)[2 + i]));
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
  t.emplace_back("QConvInt8", qconv_int8);
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
