#include "backends/cpu/executor.h"

#include <new>
#include <unordered_map>
#include <unordered_set>

namespace kiln::cpu {

Result<Executor> Executor::create(const ir::Graph& graph) {
  Executor ex(&graph);
  const auto& nodes = graph.nodes();
  for (const auto& node : nodes) {
    Kernel k = find_kernel(node->op_type);
    if (!k)
      return error(StatusCode::kUnsupported, "no CPU kernel for op ", node->op_type, " (node ", node->name, ")");
    ex.kernels_.push_back(k);
  }
  // Each computed value is freed after the last node that reads it; graph outputs are kept,
  // and outputs nobody reads are freed right after the node that made them.
  std::unordered_map<const ir::Value*, size_t> last_use;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const ir::Value* v : nodes[i]->outputs)
      if (v) last_use[v] = i;
    for (const ir::Value* v : nodes[i]->inputs)
      if (v && v->producer) last_use[v] = i;
  }
  const std::unordered_set<const ir::Value*> outputs(graph.outputs.begin(), graph.outputs.end());
  ex.frees_.resize(nodes.size());
  for (const auto& [v, i] : last_use)
    if (!outputs.count(v)) ex.frees_[i].push_back(v);
  return ex;
}

namespace {

Status check_input(const ir::Value& v, const ir::Tensor& t) {
  if (t.dtype() != v.dtype)
    return error(StatusCode::kInvalidArgument, "input '", v.name, "' must be ", ir::dtype_name(v.dtype), ", got ",
                 ir::dtype_name(t.dtype()));
  if (!v.shape) return Status::Ok();
  const ir::Shape& want = *v.shape;
  bool ok = want.size() == t.rank();
  for (size_t d = 0; ok && d < want.size(); ++d) ok = !want[d].is_known() || want[d].value == t.dim(d);
  if (!ok)
    return error(StatusCode::kInvalidArgument, "input '", v.name, "' must have shape ", ir::shape_to_string(want),
                 ", got ", ir::shape_to_string(t.shape()));
  return Status::Ok();
}

}  // namespace

Result<std::vector<ir::Tensor>> Executor::run(const std::vector<ir::Tensor>& inputs, const Observer& observer) const {
  const ir::Graph& g = *graph_;
  if (inputs.size() != g.inputs.size())
    return error(StatusCode::kInvalidArgument, "graph takes ", g.inputs.size(), " inputs, got ", inputs.size());
  // Tensors by value: graph inputs and initializers are borrowed, computed ones owned.
  std::unordered_map<const ir::Value*, const ir::Tensor*> borrowed;
  std::unordered_map<const ir::Value*, ir::Tensor> owned;
  for (size_t i = 0; i < inputs.size(); ++i) {
    KILN_RETURN_IF_ERROR(check_input(*g.inputs[i], inputs[i]));
    borrowed[g.inputs[i]] = &inputs[i];
  }
  auto lookup = [&](const ir::Value* v) -> const ir::Tensor* {
    if (v->initializer) return &*v->initializer;
    if (auto it = owned.find(v); it != owned.end()) return &it->second;
    if (auto it = borrowed.find(v); it != borrowed.end()) return it->second;
    return nullptr;
  };

  const auto& nodes = g.nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ir::Node& node = *nodes[i];
    KernelContext ctx{node, {}, {}};
    for (const ir::Value* v : node.inputs) {
      const ir::Tensor* t = v ? lookup(v) : nullptr;
      if (v && !t)
        return error(StatusCode::kInternal, "node ", node.name, " (", node.op_type, "): input '", v->name,
                     "' has no value");
      ctx.inputs.push_back(t);
    }
    Status st = Status::Ok();
    try {
      st = kernels_[i](ctx);
    } catch (const std::bad_alloc&) {  // the library never throws: out of memory is an error
      st = error(StatusCode::kInvalidArgument, "out of memory for its output");
    }
    if (!st.ok()) return Status(st.code(), "node " + node.name + " (" + node.op_type + "): " + st.message());
    if (ctx.outputs.size() != node.outputs.size())
      return error(StatusCode::kInternal, "node ", node.name, " (", node.op_type, "): kernel made ",
                   ctx.outputs.size(), " outputs, node has ", node.outputs.size());
    for (size_t o = 0; o < node.outputs.size(); ++o)
      if (node.outputs[o]) {
        const ir::Tensor& t = owned[node.outputs[o]] = std::move(ctx.outputs[o]);
        if (observer) observer(*node.outputs[o], t);
      }
    for (const ir::Value* v : frees_[i]) owned.erase(v);
  }

  std::vector<ir::Tensor> results;
  for (const ir::Value* v : g.outputs) {
    const ir::Tensor* t = lookup(v);
    if (!t) return error(StatusCode::kInternal, "graph output '", v->name, "' was not computed");
    results.push_back(*t);
  }
  return results;
}

}  // namespace kiln::cpu
