// Runs one CPU kernel on hand-made tensors, through a one-node ir::Graph and the Executor,
// so unit tests exercise the same path as whole models.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backends/cpu/executor.h"
#include "ir/graph.h"

namespace kiln::cpu::test {

struct OpCase {
  std::string op_type;
  std::vector<std::optional<ir::Tensor>> inputs;  // nullopt marks an omitted optional input
  size_t num_outputs = 1;
  std::map<std::string, ir::AttrValue> attrs = {};
};

// Inputs become graph inputs (not constants) so the executor validates them like real ones.
inline Result<std::vector<ir::Tensor>> run_op(const OpCase& c) {
  ir::Graph g;
  std::vector<ir::Value*> ins;
  std::vector<ir::Tensor> feed;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (!c.inputs[i]) {
      ins.push_back(nullptr);
      continue;
    }
    const ir::Tensor& t = *c.inputs[i];
    ir::Value* v = g.add_value("in" + std::to_string(i));
    v->dtype = t.dtype();
    v->shape = ir::make_shape(t.shape());
    g.inputs.push_back(v);
    feed.push_back(t);
    ins.push_back(v);
  }
  std::vector<ir::Value*> outs;
  for (size_t i = 0; i < c.num_outputs; ++i) outs.push_back(g.add_value("out" + std::to_string(i)));
  ir::Node* n = g.add_node(c.op_type, "node0", ins, outs);
  n->attrs = c.attrs;
  g.outputs = outs;
  KILN_ASSIGN_OR_RETURN(Executor ex, Executor::create(g));
  return ex.run(feed);
}

template <typename T>
ir::Tensor tensor(std::vector<int64_t> shape, const std::vector<T>& values) {
  return ir::Tensor::from_vector<T>(std::move(shape), values);
}
template <typename T>
std::vector<T> values_of(const ir::Tensor& t) {
  auto v = t.values<T>();
  return {v.begin(), v.end()};
}

}  // namespace kiln::cpu::test
