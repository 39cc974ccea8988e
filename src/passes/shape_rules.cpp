#include "passes/shape_rules.h"

#include <algorithm>
#include <cmath>

namespace kiln::passes::shape_rules {

using ir::Dim;
using ir::Shape;

const Shape* RuleContext::shape(size_t i) const {
  const ir::Value* v = node.input(i);
  return v && v->shape ? &*v->shape : nullptr;
}

ir::DType RuleContext::dtype(size_t i) const {
  const ir::Value* v = node.input(i);
  return v ? v->dtype : ir::DType::kFloat32;
}

const std::vector<SymbolicInt>* RuleContext::value(size_t i) const {
  const ir::Value* v = node.input(i);
  if (!v) return nullptr;
  auto it = values.find(v);
  return it == values.end() ? nullptr : &it->second;
}

std::optional<std::vector<int64_t>> RuleContext::known_ints(size_t i) const {
  const std::vector<SymbolicInt>* v = value(i);
  if (!v) return std::nullopt;
  std::vector<int64_t> out;
  for (const SymbolicInt& d : *v) {
    if (!d.is_known()) return std::nullopt;
    out.push_back(*d.value);
  }
  return out;
}

std::optional<std::vector<double>> RuleContext::constant_doubles(size_t i) const {
  const ir::Value* v = node.input(i);
  if (!v) return std::nullopt;
  if (v->initializer) {
    ir::Tensor f = v->initializer->to_float32();
    std::vector<double> out(f.values<float>().begin(), f.values<float>().end());
    return out;
  }
  if (auto ints = known_ints(i)) return std::vector<double>(ints->begin(), ints->end());
  return std::nullopt;
}

Rule find_rule(std::string_view op_type) {
  static const std::vector<std::pair<std::string_view, Rule>> table = [] {
    std::vector<std::pair<std::string_view, Rule>> t;
    add_nn_rules(t);
    add_tensor_rules(t);
    std::sort(t.begin(), t.end());
    return t;
  }();
  auto it = std::lower_bound(table.begin(), table.end(), op_type,
                             [](const auto& entry, std::string_view key) { return entry.first < key; });
  return it != table.end() && it->first == op_type ? it->second : nullptr;
}

bool normalize_axis(int64_t& axis, size_t rank) {
  if (axis < 0) axis += static_cast<int64_t>(rank);
  return axis >= 0 && axis < static_cast<int64_t>(rank);
}

Result<Shape> broadcast(const RuleContext& ctx, const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Missing leading dims act as 1.
    Dim da = i + a.size() >= rank ? a[i + a.size() - rank] : Dim::known(1);
    Dim db = i + b.size() >= rank ? b[i + b.size() - rank] : Dim::known(1);
    if (da.is_known() && db.is_known()) {
      if (da.value != db.value && da.value != 1 && db.value != 1)
        return ctx.fail("cannot broadcast ", ir::shape_to_string(a), " with ", ir::shape_to_string(b));
      out[i] = Dim::known(da.value == 1 ? db.value : da.value);
    } else if (da.is_known() && da.value != 1) {
      out[i] = da;  // the other side must be 1 or equal at run time
    } else if (db.is_known() && db.value != 1) {
      out[i] = db;
    } else if (da.is_known()) {  // 1 against a symbol
      out[i] = db;
    } else if (db.is_known()) {
      out[i] = da;
    } else {
      out[i] = da == db ? da : unknown_dim();
    }
  }
  return out;
}

Dim product(const Shape& dims) {
  int64_t known = 1;
  std::vector<const Dim*> symbolic;
  bool unknown = false;
  for (const Dim& d : dims) {
    if (d.is_known()) {
      if (__builtin_mul_overflow(known, d.value, &known)) return unknown_dim();  // dims from a file
    }
    else if (d.symbol.empty()) unknown = true;
    else symbolic.push_back(&d);
  }
  if (known == 0) return Dim::known(0);
  if (!unknown && symbolic.empty()) return Dim::known(known);
  if (!unknown && symbolic.size() == 1 && known == 1) return *symbolic[0];
  return unknown_dim();
}


}  // namespace kiln::passes::shape_rules
