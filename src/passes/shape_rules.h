// Per-op shape rules used by shape inference (internal to kiln_passes). A rule reads the
// node's inputs (dtype, shape, tracked values) and fills one OutputInfo per node output.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"
#include "passes/shape_inference.h"

namespace kiln::passes::shape_rules {

struct OutputInfo {
  ir::DType dtype = ir::DType::kFloat32;
  std::optional<ir::Shape> shape;            // unset: not inferable
  std::optional<std::vector<SymbolicInt>> value;  // tracked element values, if any
};

struct RuleContext {
  const ir::Node& node;
  const ShapeValues& values;
  std::vector<OutputInfo> outputs;  // one per node output, dtype preset to input 0's

  const ir::Shape* shape(size_t i) const;  // input i's shape, or null if absent/unknown
  ir::DType dtype(size_t i) const;
  // Tracked values of input i (from an initializer or an earlier shape computation).
  const std::vector<SymbolicInt>* value(size_t i) const;
  // Input i's values when every element is known.
  std::optional<std::vector<int64_t>> known_ints(size_t i) const;
  // Input i's constant float values (any numeric initializer), for scales and ranges.
  std::optional<std::vector<double>> constant_doubles(size_t i) const;
  // "node 'name' (Op): <parts>" as an InvalidArgument.
  template <typename... Parts>
  Status fail(const Parts&... parts) const {
    return error(StatusCode::kInvalidArgument, "node '", node.name, "' (", node.op_type, "): ", parts...);
  }
};

using Rule = Status (*)(RuleContext&);

// The rule for `op_type`, or nullptr.
Rule find_rule(std::string_view op_type);

// ---- helpers shared by the rule files ----

// Normalizes a possibly negative axis; false if out of range.
bool normalize_axis(int64_t& axis, size_t rank);
// Numpy broadcasting of two shapes; symbolic dims broadcast against known ones as ONNX allows.
Result<ir::Shape> broadcast(const RuleContext& ctx, const ir::Shape& a, const ir::Shape& b);
// Product of dims: known if all known, the single symbol times 1, else unknown.
ir::Dim product(const ir::Shape& dims);
// An unknown dim (no value, no symbol).
inline ir::Dim unknown_dim() { return ir::Dim{}; }

// Rule tables of the two rule files.
void add_nn_rules(std::vector<std::pair<std::string_view, Rule>>& table);
void add_tensor_rules(std::vector<std::pair<std::string_view, Rule>>& table);

}  // namespace kiln::passes::shape_rules
