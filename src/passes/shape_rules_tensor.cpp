// Shape rules of the tensor-manipulation and elementwise ops, including the arithmetic
// on tracked values that resolves the shape subgraphs of dynamic exports.
#include <algorithm>
#include <climits>
#include <cmath>

#include "ir/size_limits.h"
#include "ir/slice_axis.h"
#include "passes/shape_rules.h"

namespace kiln::passes::shape_rules {
namespace {

using ir::Dim;
using ir::DType;
using ir::Shape;

// Tensors with more elements than this are not tracked element by element.
constexpr int64_t kMaxTrackedElements = 64;

bool is_integer(DType t) { return t == DType::kInt64 || t == DType::kInt32; }

// Elementwise arithmetic on tracked values; nullopt when the result is not a whole
// number we can state (a symbol combined with anything but the identity element).
std::optional<SymbolicInt> apply(const std::string& op, const SymbolicInt& a, const SymbolicInt& b, bool integer) {
  using S = SymbolicInt;
  auto is = [](const S& x, int64_t v) { return x.is_known() && *x.value == v; };
  if (a.is_known() && b.is_known()) {
    int64_t x = *a.value, y = *b.value;
    if (op == "Add") return S::known(x + y);
    if (op == "Sub") return S::known(x - y);
    if (op == "Mul") return S::known(x * y);
    if (y == 0) return std::nullopt;
    if (!integer && x % y != 0) return std::nullopt;
    return S::known(x / y);  // ONNX integer Div truncates, as C++ does
  }
  if (op == "Add" && is(b, 0)) return a;
  if (op == "Add" && is(a, 0)) return b;
  if (op == "Sub" && is(b, 0)) return a;
  if (op == "Mul" && is(b, 1)) return a;
  if (op == "Mul" && is(a, 1)) return b;
  if (op == "Mul" && (is(a, 0) || is(b, 0))) return S::known(0);
  if (op == "Div" && is(b, 1)) return a;
  return S{};  // combines symbols: unknown but still an element (keeps positions)
}

Status binary(RuleContext& ctx) {
  const Shape* a = ctx.shape(0);
  const Shape* b = ctx.shape(1);
  if (!a || !b) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(Shape out, broadcast(ctx, *a, *b));
  ctx.outputs[0].shape = out;
  const auto* va = ctx.value(0);
  const auto* vb = ctx.value(1);
  if (!va || !vb || !ir::is_static(out)) return Status::Ok();
  size_t n = static_cast<size_t>(ir::shape_numel(ir::static_dims(out)));
  // Tracked values broadcast only as equal sizes or a single element.
  if ((va->size() != n && va->size() != 1) || (vb->size() != n && vb->size() != 1)) return Status::Ok();
  std::vector<SymbolicInt> values;
  for (size_t i = 0; i < n; ++i) {
    auto r = apply(ctx.node.op_type, (*va)[va->size() == 1 ? 0 : i], (*vb)[vb->size() == 1 ? 0 : i],
                   is_integer(ctx.dtype(0)));
    if (!r) return Status::Ok();
    values.push_back(*r);
  }
  ctx.outputs[0].value = values;
  return Status::Ok();
}

Status identity(RuleContext& ctx) {
  if (const Shape* s = ctx.shape(0)) ctx.outputs[0].shape = *s;
  if (const auto* v = ctx.value(0)) ctx.outputs[0].value = *v;
  return Status::Ok();
}

Status cast(RuleContext& ctx) {
  auto to = ir::dtype_from_onnx(ctx.node.attr_int("to", 0));
  if (!to) return ctx.fail("unsupported target type ", ctx.node.attr_int("to", 0));
  ctx.outputs[0].dtype = *to;
  if (const Shape* s = ctx.shape(0)) ctx.outputs[0].shape = *s;
  const auto* v = ctx.value(0);
  if (v && *to != DType::kBool && *to != DType::kUInt8 && *to != DType::kInt8) ctx.outputs[0].value = *v;
  return Status::Ok();
}

Status shape_op(RuleContext& ctx) {
  ctx.outputs[0].dtype = DType::kInt64;
  const Shape* s = ctx.shape(0);
  if (!s) return Status::Ok();
  int64_t rank = static_cast<int64_t>(s->size());
  int64_t start = ctx.node.attr_int("start", 0), end = ctx.node.attr_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  ctx.outputs[0].shape = Shape{Dim::known(end - start)};
  std::vector<SymbolicInt> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(SymbolicInt::of((*s)[i]));
  ctx.outputs[0].value = dims;
  return Status::Ok();
}

Status gather(RuleContext& ctx) {
  const Shape* data = ctx.shape(0);
  const Shape* idx = ctx.shape(1);
  if (!data || !idx) return Status::Ok();
  int64_t axis = ctx.node.attr_int("axis", 0);
  if (!normalize_axis(axis, data->size())) return ctx.fail("axis ", axis, " out of range for rank ", data->size());
  Shape out(data->begin(), data->begin() + axis);
  out.insert(out.end(), idx->begin(), idx->end());
  out.insert(out.end(), data->begin() + axis + 1, data->end());
  ctx.outputs[0].shape = out;
  auto indices = ctx.known_ints(1);
  const Dim& extent = (*data)[axis];
  if (indices && extent.is_known()) {
    for (int64_t& i : *indices) {
      if (i < -extent.value || i >= extent.value) return ctx.fail("index ", i, " out of range [0,", extent.value, ")");
      if (i < 0) i += extent.value;
    }
  }
  const auto* v = ctx.value(0);
  if (v && indices && data->size() == 1 && extent.is_known()) {
    std::vector<SymbolicInt> picked;
    for (int64_t i : *indices) picked.push_back((*v)[i]);
    ctx.outputs[0].value = picked;
  }
  return Status::Ok();
}

Status unsqueeze(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  std::vector<int64_t> axes = ctx.node.attr_ints("axes");
  if (ctx.node.input(1)) {
    auto v = ctx.known_ints(1);
    if (!v) return Status::Ok();
    axes = *v;
  }
  if (!x) return Status::Ok();
  size_t rank = x->size() + axes.size();
  std::vector<bool> inserted(rank, false);
  for (int64_t a : axes) {
    if (!normalize_axis(a, rank) || inserted[a]) return ctx.fail("bad axes for rank ", rank);
    inserted[a] = true;
  }
  Shape out;
  auto it = x->begin();
  for (size_t i = 0; i < rank; ++i) out.push_back(inserted[i] ? Dim::known(1) : *it++);
  ctx.outputs[0].shape = out;
  if (const auto* v = ctx.value(0)) ctx.outputs[0].value = *v;
  return Status::Ok();
}

Status concat(RuleContext& ctx) {
  int64_t axis = ctx.node.attr_int("axis", 0);
  std::vector<const Shape*> shapes;
  for (size_t i = 0; i < ctx.node.inputs.size(); ++i) {
    const Shape* s = ctx.shape(i);
    if (!s) return Status::Ok();
    shapes.push_back(s);
  }
  if (shapes.empty()) return ctx.fail("no inputs");
  size_t rank = shapes[0]->size();
  if (!normalize_axis(axis, rank)) return ctx.fail("axis ", axis, " out of range for rank ", rank);
  Shape out = *shapes[0];
  int64_t total = 0;
  bool total_known = true;
  for (const Shape* s : shapes) {
    if (s->size() != rank) return ctx.fail("inputs of rank ", rank, " and ", s->size());
    for (size_t d = 0; d < rank; ++d) {
      if (static_cast<int64_t>(d) == axis) continue;
      const Dim& a = out[d];
      const Dim& b = (*s)[d];
      if (a.is_known() && b.is_known() && a.value != b.value)
        return ctx.fail("inputs ", ir::shape_to_string(*shapes[0]), " and ", ir::shape_to_string(*s),
                        " differ off axis ", axis);
      if (!a.is_known() && (b.is_known() || a.symbol.empty())) out[d] = b;
    }
    const Dim& part = (*s)[axis];
    if (part.is_known()) total += part.value;
    else total_known = false;
  }
  out[axis] = total_known ? Dim::known(total) : shapes.size() == 1 ? (*shapes[0])[axis] : unknown_dim();
  ctx.outputs[0].shape = out;
  if (rank == 1) {
    std::vector<SymbolicInt> values;
    for (size_t i = 0; i < shapes.size(); ++i) {
      const auto* v = ctx.value(i);
      if (!v) return Status::Ok();
      values.insert(values.end(), v->begin(), v->end());
    }
    ctx.outputs[0].value = values;
  }
  return Status::Ok();
}

// Reads a 1-D shape-like input (Reshape, Expand, ConstantOfShape) as tracked values.
const std::vector<SymbolicInt>* shape_input(const RuleContext& ctx, size_t i) {
  const Shape* s = ctx.shape(i);
  if (!s || s->size() != 1) return nullptr;
  return ctx.value(i);
}

// Tracked values as dims; a negative value is an error naming the node.
Result<Shape> as_dims(const RuleContext& ctx, const std::vector<SymbolicInt>& values) {
  Shape out;
  for (const SymbolicInt& v : values) {
    if (v.is_known() && *v.value < 0) return ctx.fail("negative dim ", *v.value, " in shape input");
    out.push_back(v.to_dim());
  }
  return out;
}

Status reshape(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  const auto* target = shape_input(ctx, 1);
  if (!target) return Status::Ok();
  bool allow_zero = ctx.node.attr_int("allowzero", 0) != 0;
  Shape out;
  int infer_at = -1;
  for (size_t i = 0; i < target->size(); ++i) {
    const SymbolicInt& t = (*target)[i];
    Dim d = t.to_dim();
    if (t.is_known() && *t.value == 0 && !allow_zero) {
      if (!x) return Status::Ok();
      if (i >= x->size()) return ctx.fail("0 at position ", i, " but input has rank ", x->size());
      d = (*x)[i];
    } else if (t.is_known() && *t.value == -1) {
      if (infer_at >= 0) return ctx.fail("more than one -1 in target shape");
      infer_at = static_cast<int>(i);
    } else if (t.is_known() && *t.value < 0) {
      return ctx.fail("invalid target dim ", *t.value);
    }
    out.push_back(d);
  }
  if (infer_at >= 0) {
    out[infer_at] = unknown_dim();
    if (x) {
      // Cancel the symbols present on both sides; what is left determines the -1.
      Shape in_rest = *x;
      Shape out_rest;
      bool resolvable = true;
      for (size_t i = 0; i < out.size(); ++i) {
        if (static_cast<int>(i) == infer_at) continue;
        const Dim& d = out[i];
        if (d.is_known()) { out_rest.push_back(d); continue; }
        auto it = d.symbol.empty() ? in_rest.end() : std::find(in_rest.begin(), in_rest.end(), d);
        if (it == in_rest.end()) { resolvable = false; break; }
        in_rest.erase(it);
      }
      Dim in_prod = product(in_rest), out_prod = product(out_rest);
      if (resolvable && out_prod.is_known() && out_prod.value != 0) {
        if (in_prod.is_known()) {
          if (in_prod.value % out_prod.value != 0)
            return ctx.fail("cannot reshape ", ir::shape_to_string(*x), " to ", ir::shape_to_string(out));
          out[infer_at] = Dim::known(in_prod.value / out_prod.value);
        } else if (!in_prod.symbol.empty() && out_prod.value == 1) {
          out[infer_at] = in_prod;
        }
      }
    }
  }
  if (x && ir::is_static(*x) && ir::is_static(out)) {
    // The target comes from tensor values: counted with the size limits, never overflowing.
    const std::optional<int64_t> to = ir::checked_numel(ir::static_dims(out));
    if (!to || ir::checked_numel(ir::static_dims(*x)) != to)
      return ctx.fail("cannot reshape ", ir::shape_to_string(*x), " to ", ir::shape_to_string(out));
  }
  ctx.outputs[0].shape = out;
  if (const auto* v = ctx.value(0)) ctx.outputs[0].value = *v;
  return Status::Ok();
}

Status flatten(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  if (!x) return Status::Ok();
  int64_t axis = ctx.node.attr_int("axis", 1);
  int64_t rank = static_cast<int64_t>(x->size());
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) return ctx.fail("axis out of range for rank ", rank);
  ctx.outputs[0].shape = Shape{product(Shape(x->begin(), x->begin() + axis)), product(Shape(x->begin() + axis, x->end()))};
  return Status::Ok();
}

Status expand(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  const auto* target = shape_input(ctx, 1);
  if (!x || !target) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(Shape to, as_dims(ctx, *target));
  KILN_ASSIGN_OR_RETURN(Shape out, broadcast(ctx, *x, to));
  ctx.outputs[0].shape = out;
  return Status::Ok();
}

Status constant_of_shape(RuleContext& ctx) {
  const ir::Tensor* fill = ctx.node.attr_tensor("value");
  ctx.outputs[0].dtype = fill ? fill->dtype() : DType::kFloat32;
  const auto* target = shape_input(ctx, 0);
  if (!target) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(Shape out, as_dims(ctx, *target));
  ctx.outputs[0].shape = out;
  if (fill && is_integer(fill->dtype()) && fill->numel() == 1 && ir::is_static(out)) {
    int64_t n = ir::shape_numel(ir::static_dims(out));
    if (n <= kMaxTrackedElements)
      ctx.outputs[0].value = std::vector<SymbolicInt>(static_cast<size_t>(n), SymbolicInt::known(fill->as_int64()[0]));
  }
  return Status::Ok();
}

// A length computed in floating point (Resize scales, Range over floats), checked before it
// becomes an integer: NaN, +infinity and values above ir::kMaxDim are errors, not casts;
// below 0 is an empty range.
Result<int64_t> float_length(RuleContext& ctx, double length, const char* what) {
  if (!(length <= static_cast<double>(ir::kMaxDim)))  // also NaN
    return ctx.fail(what, " gives a length of ", length, ", above 2^31");
  return length < 0 ? 0 : static_cast<int64_t>(length);
}

Status range(RuleContext& ctx) {
  const auto* start = ctx.value(0);
  const auto* limit = ctx.value(1);
  const auto* delta = ctx.value(2);
  Dim length = unknown_dim();
  bool single = start && limit && delta && start->size() == 1 && limit->size() == 1 && delta->size() == 1;
  if (single && (*start)[0].is_known() && (*limit)[0].is_known() && (*delta)[0].is_known()) {
    int64_t s = *(*start)[0].value, l = *(*limit)[0].value, d = *(*delta)[0].value;
    if (d == 0) return ctx.fail("delta is 0");
    // In 128 bits: start, limit and delta are any int64 a file holds.
    const __int128 count = (static_cast<__int128>(l) - s + d + (d > 0 ? -1 : 1)) / d;
    if (count > ir::kMaxDim) return ctx.fail("range of ", static_cast<double>(count), " values, above 2^31");
    int64_t n = std::max<int64_t>(0, static_cast<int64_t>(count));
    length = Dim::known(n);
    if (n <= kMaxTrackedElements) {
      std::vector<SymbolicInt> values;
      for (int64_t i = 0; i < n; ++i) values.push_back(SymbolicInt::known(s + i * d));
      ctx.outputs[0].value = values;
    }
  } else if (single && (*start)[0] == SymbolicInt::known(0) && (*delta)[0] == SymbolicInt::known(1)) {
    length = (*limit)[0].to_dim();  // 0 .. n-1
  } else if (auto s = ctx.constant_doubles(0), l = ctx.constant_doubles(1), d = ctx.constant_doubles(2);
             s && l && d && s->size() == 1 && l->size() == 1 && d->size() == 1) {
    if ((*d)[0] == 0) return ctx.fail("delta is 0");
    KILN_ASSIGN_OR_RETURN(int64_t n, float_length(ctx, std::ceil(((*l)[0] - (*s)[0]) / (*d)[0]), "range"));
    length = Dim::known(n);
  }
  ctx.outputs[0].shape = Shape{length};
  return Status::Ok();
}

Status resize(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  if (!x) return Status::Ok();
  // Opset 10 has (X, scales); opset 11+ has (X, roi, scales, sizes).
  size_t scales_at = ctx.node.inputs.size() == 2 ? 1 : 2;
  if (ctx.node.input(3)) {
    const auto* sizes = shape_input(ctx, 3);
    if (!sizes) return Status::Ok();
    if (sizes->size() != x->size()) return ctx.fail("sizes has ", sizes->size(), " entries for rank ", x->size());
    KILN_ASSIGN_OR_RETURN(Shape out, as_dims(ctx, *sizes));
    ctx.outputs[0].shape = out;
    return Status::Ok();
  }
  auto scales = ctx.constant_doubles(scales_at);
  if (!scales) return Status::Ok();
  if (scales->size() != x->size()) return ctx.fail("scales has ", scales->size(), " entries for rank ", x->size());
  Shape out;
  for (size_t i = 0; i < x->size(); ++i) {
    const Dim& d = (*x)[i];
    double s = (*scales)[i];
    if (!(s > 0)) return ctx.fail("scale ", s, " must be positive");  // also NaN
    if (d.is_known()) {
      KILN_ASSIGN_OR_RETURN(int64_t n, float_length(ctx, std::floor(static_cast<double>(d.value) * s), "scale"));
      out.push_back(Dim::known(n));
    } else {
      out.push_back(s == 1.0 ? d : unknown_dim());
    }
  }
  ctx.outputs[0].shape = out;
  return Status::Ok();
}

Status slice(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  if (!x) return Status::Ok();
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.node.inputs.size() == 1) {  // opset < 10: attributes
    starts = ctx.node.attr_ints("starts");
    ends = ctx.node.attr_ints("ends");
    axes = ctx.node.attr_ints("axes");
  } else {
    auto s = ctx.known_ints(1), e = ctx.known_ints(2);
    if (!s || !e) return Status::Ok();
    starts = *s;
    ends = *e;
    if (ctx.node.input(3)) {
      auto a = ctx.known_ints(3);
      if (!a) return Status::Ok();
      axes = *a;
    }
    if (ctx.node.input(4)) {
      auto st = ctx.known_ints(4);
      if (!st) return Status::Ok();
      steps = *st;
    }
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return ctx.fail("starts/ends/axes/steps lengths differ");
  Shape out = *x;
  std::vector<int64_t> first(x->size(), 0), stride(x->size(), 1);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t axis = axes[i];
    if (!normalize_axis(axis, x->size())) return ctx.fail("axis ", axes[i], " out of range");
    int64_t step = steps[i];
    if (step == 0) return ctx.fail("step is 0");
    const Dim& d = (*x)[axis];
    if (!d.is_known()) {
      bool whole = starts[i] == 0 && ends[i] >= INT32_MAX && step == 1;
      out[axis] = whole ? d : unknown_dim();
      continue;
    }
    const ir::SliceAxis taken = ir::resolve_slice_axis(d.value, starts[i], ends[i], step);
    out[axis] = Dim::known(taken.count);
    first[axis] = taken.start;
    stride[axis] = step;
  }
  ctx.outputs[0].shape = out;
  const auto* v = ctx.value(0);
  if (v && x->size() == 1 && out[0].is_known()) {
    std::vector<SymbolicInt> picked;
    for (int64_t i = 0; i < out[0].value; ++i) picked.push_back((*v)[first[0] + i * stride[0]]);
    ctx.outputs[0].value = picked;
  }
  return Status::Ok();
}

Status split(RuleContext& ctx) {
  for (auto& o : ctx.outputs) o.dtype = ctx.dtype(0);
  const Shape* x = ctx.shape(0);
  if (!x) return Status::Ok();
  int64_t axis = ctx.node.attr_int("axis", 0);
  if (!normalize_axis(axis, x->size())) return ctx.fail("axis ", axis, " out of range for rank ", x->size());
  std::vector<int64_t> sizes;  // the importer moves opset<13's `split` attribute to input 1
  if (ctx.node.input(1)) {
    auto v = ctx.known_ints(1);
    if (!v) return Status::Ok();
    sizes = *v;
  }
  const Dim& d = (*x)[axis];
  size_t n = ctx.outputs.size();
  if (sizes.empty()) {
    if (!d.is_known()) return Status::Ok();
    int64_t chunk = (d.value + static_cast<int64_t>(n) - 1) / static_cast<int64_t>(n);  // last may be smaller
    for (size_t i = 0; i < n; ++i)
      sizes.push_back(std::min<int64_t>(chunk, d.value - chunk * static_cast<int64_t>(i)));
  }
  if (sizes.size() != n) return ctx.fail(sizes.size(), " split sizes for ", n, " outputs");
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  if (d.is_known() && total != d.value) return ctx.fail("split sizes sum to ", total, ", axis has ", d.value);
  for (size_t i = 0; i < n; ++i) {
    Shape out = *x;
    out[axis] = Dim::known(sizes[i]);
    ctx.outputs[i].shape = out;
  }
  return Status::Ok();
}

Status transpose(RuleContext& ctx) {
  const Shape* x = ctx.shape(0);
  if (!x) return Status::Ok();
  std::vector<int64_t> perm = ctx.node.attr_ints("perm");
  if (perm.empty())
    for (size_t i = x->size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));
  if (perm.size() != x->size()) return ctx.fail("perm of length ", perm.size(), " for rank ", x->size());
  Shape out;
  std::vector<bool> seen(x->size(), false);
  for (int64_t p : perm) {
    if (!normalize_axis(p, x->size()) || seen[p]) return ctx.fail("invalid perm");
    seen[p] = true;
    out.push_back((*x)[p]);
  }
  ctx.outputs[0].shape = out;
  return Status::Ok();
}

}  // namespace

void add_tensor_rules(std::vector<std::pair<std::string_view, Rule>>& t) {
  for (std::string_view op : {"Add", "Sub", "Mul", "Div"}) t.emplace_back(op, binary);
  t.emplace_back("Identity", identity);
  t.emplace_back("Cast", cast);
  t.emplace_back("Shape", shape_op);
  t.emplace_back("Gather", gather);
  t.emplace_back("Unsqueeze", unsqueeze);
  t.emplace_back("Concat", concat);
  t.emplace_back("Reshape", reshape);
  t.emplace_back("Flatten", flatten);
  t.emplace_back("Expand", expand);
  t.emplace_back("ConstantOfShape", constant_of_shape);
  t.emplace_back("Range", range);
  t.emplace_back("Resize", resize);
  t.emplace_back("Slice", slice);
  t.emplace_back("Split", split);
  t.emplace_back("Transpose", transpose);
}

}  // namespace kiln::passes::shape_rules
