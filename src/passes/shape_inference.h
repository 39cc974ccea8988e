// Shape inference: sets the dtype and shape of every Value from the graph inputs and
// initializers, op by op in topological order. Symbolic dims (e.g. "batch") propagate;
// the values of small integer tensors computed from shapes (Shape -> Gather -> Concat ->
// Reshape ...) are tracked element by element as Dims, so a dynamic export's Reshape
// targets resolve. A dim that cannot be inferred is left unknown, never guessed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::passes {

// Symbol -> concrete size, e.g. {"height", 640}.
using DimBindings = std::map<std::string, int64_t>;

// One element of a tracked tensor: a known integer (negative allowed: Reshape's -1, Slice
// bounds), a symbolic dim's symbol, or unknown.
struct SymbolicInt {
  std::optional<int64_t> value;
  std::string symbol;

  static SymbolicInt known(int64_t v) { return {v, {}}; }
  static SymbolicInt of(const ir::Dim& d) { return d.is_known() ? known(d.value) : SymbolicInt{std::nullopt, d.symbol}; }
  bool is_known() const { return value.has_value(); }
  // As a dimension: known if non-negative, the symbol if any, else unknown.
  ir::Dim to_dim() const {
    if (value) return *value >= 0 ? ir::Dim::known(*value) : ir::Dim{};
    return symbol.empty() ? ir::Dim{} : ir::Dim::symbolic(symbol);
  }
  bool operator==(const SymbolicInt&) const = default;
};

// Element values of small integer (or integral float) tensors, row-major; known where
// computable, symbolic where they come from a symbolic dim.
using ShapeValues = std::unordered_map<const ir::Value*, std::vector<SymbolicInt>>;

// Replaces bound symbols by their values in every Value's shape (graph inputs included).
void bind_dims(ir::Graph& graph, const DimBindings& bindings);

// Binds `bindings`, then infers every node output's dtype and shape. A dim already known
// (e.g. declared by the exporter) that contradicts the inferred one is an error naming the
// node. Returns the tracked tensor values (for constant folding of shape subgraphs).
Result<ShapeValues> infer_shapes(ir::Graph& graph, const DimBindings& bindings = {});

}  // namespace kiln::passes
