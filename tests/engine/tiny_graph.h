// The smallest engine graph the .kiln file tests write and read back: y = x + b, x of
// shape [1, 4], b the constant {1, 2, 3, 4}.
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

namespace kiln::test {

inline ir::Graph tiny_graph() {
  ir::Graph g;
  ir::Value* x = g.add_value("x");
  x->shape = ir::make_shape({1, 4});
  g.inputs.push_back(x);
  ir::Value* b = g.add_constant("b", ir::Tensor::from_vector<float>({4}, {1, 2, 3, 4}));
  ir::Value* y = g.add_value("y");
  y->shape = ir::make_shape({1, 4});
  g.add_node("Add", "add", {x, b}, {y});
  g.outputs.push_back(y);
  return g;
}

}  // namespace kiln::test
