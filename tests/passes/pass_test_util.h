// Small builders for the hand-made graphs of the pass tests.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::passes::test {

// A graph input with the given dims; a negative entry stands for a symbol named in `symbols`.
inline ir::Value* add_input(ir::Graph& g, const std::string& name, const ir::Shape& shape,
                            ir::DType dtype = ir::DType::kFloat32) {
  ir::Value* v = g.add_value(name);
  v->shape = shape;
  v->dtype = dtype;
  g.inputs.push_back(v);
  return v;
}

inline ir::Value* add_ints(ir::Graph& g, const std::string& name, const std::vector<int64_t>& values,
                           bool scalar = false) {
  std::vector<int64_t> shape = scalar ? std::vector<int64_t>{} : std::vector<int64_t>{static_cast<int64_t>(values.size())};
  return g.add_constant(name, ir::Tensor::from_vector<int64_t>(shape, values));
}

inline ir::Tensor random_tensor(const std::vector<int64_t>& shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  ir::Tensor t(ir::DType::kFloat32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

inline ir::Value* add_random(ir::Graph& g, const std::string& name, const std::vector<int64_t>& shape, uint32_t seed,
                             float lo = -1.f, float hi = 1.f) {
  return g.add_constant(name, random_tensor(shape, seed, lo, hi));
}

// Adds a node with fresh output values named after it.
inline ir::Node* add_op(ir::Graph& g, const std::string& op, const std::string& name, std::vector<ir::Value*> inputs,
                        size_t num_outputs = 1) {
  std::vector<ir::Value*> outs;
  for (size_t i = 0; i < num_outputs; ++i) outs.push_back(g.add_value(name + "_out" + std::to_string(i)));
  return g.add_node(op, name, std::move(inputs), std::move(outs));
}

inline size_t count_ops(const ir::Graph& g, const std::string& op) {
  size_t n = 0;
  for (const auto& node : g.nodes()) n += node->op_type == op;
  return n;
}

}  // namespace kiln::passes::test
