// Reading Conv nodes for the planners that fuse a conv with the nodes around it (the
// channel gate, the pointwise + depthwise pair): the 1x1 weight, the bias as FP32 values and
// the sole next node of a given op.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <vector>

#include "backends/cuda/plan.h"

namespace kiln::cuda {

// A 1x1 conv of group 1 with no padding and a constant [out, in, 1, 1] weight (and a
// constant bias, if any).
inline const ir::Tensor* pointwise_weight(const PlanBuilder& b, const ir::Node* n) {
  if (!n || n->op_type != "Conv" || n->outputs.size() != 1 || n->attr_int("group", 1) != 1) return nullptr;
  for (int64_t p : n->attr_ints("pads", {0, 0, 0, 0}))
    if (p != 0) return nullptr;
  if (n->input(2) && !b.constant_input(*n, 2)) return nullptr;
  const ir::Tensor* w = b.constant_input(*n, 1);
  return w && w->rank() == 4 && w->dim(2) == 1 && w->dim(3) == 1 ? w : nullptr;
}

// The node that alone reads n's output, when it is one of `ops` with one output.
inline const ir::Node* sole_op(const PlanBuilder& b, const ir::Node* n, std::initializer_list<const char*> ops) {
  const ir::Node* next = n ? b.sole_consumer(n->outputs[0]) : nullptr;
  if (!next || next->outputs.size() != 1) return nullptr;
  for (const char* op : ops)
    if (next->op_type == op) return next;
  return nullptr;
}

// The bias of a conv as FP32 values (zeros without one).
inline std::vector<float> bias_of(const PlanBuilder& b, const ir::Node& n, int64_t count) {
  std::vector<float> v(static_cast<size_t>(count), 0.f);
  if (const ir::Tensor* t = b.constant_input(n, 2)) {
    const ir::Tensor f = t->to_float32();
    std::copy(f.data<float>(), f.data<float>() + std::min(count, f.numel()), v.begin());
  }
  return v;
}

}  // namespace kiln::cuda
