#include "ir/graph.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace kiln::ir {

std::string shape_to_string(const Shape& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) os << ',';
    if (shape[i].is_known()) os << shape[i].value;
    else if (!shape[i].symbol.empty()) os << shape[i].symbol;
    else os << '?';
  }
  os << ']';
  return os.str();
}

bool is_static(const Shape& shape) {
  return std::all_of(shape.begin(), shape.end(), [](const Dim& d) { return d.is_known(); });
}

std::vector<int64_t> static_dims(const Shape& shape) {
  std::vector<int64_t> dims;
  dims.reserve(shape.size());
  for (const Dim& d : shape) dims.push_back(d.value);
  return dims;
}

Shape make_shape(const std::vector<int64_t>& dims) {
  Shape s;
  s.reserve(dims.size());
  for (int64_t d : dims) s.push_back(Dim::known(d));
  return s;
}

// ---- Node attributes ----

int64_t Node::attr_int(const std::string& key, int64_t fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (auto* v = std::get_if<int64_t>(&it->second)) return *v;
  if (auto* f = std::get_if<float>(&it->second)) return static_cast<int64_t>(*f);
  return fallback;
}

float Node::attr_float(const std::string& key, float fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (auto* v = std::get_if<float>(&it->second)) return *v;
  if (auto* i = std::get_if<int64_t>(&it->second)) return static_cast<float>(*i);
  return fallback;
}

std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (auto* v = std::get_if<std::string>(&it->second)) return *v;
  return fallback;
}

std::vector<int64_t> Node::attr_ints(const std::string& key, const std::vector<int64_t>& fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (auto* v = std::get_if<std::vector<int64_t>>(&it->second)) return *v;
  return fallback;
}

std::vector<float> Node::attr_floats(const std::string& key, const std::vector<float>& fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (auto* v = std::get_if<std::vector<float>>(&it->second)) return *v;
  return fallback;
}

const Tensor* Node::attr_tensor(const std::string& key) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return nullptr;
  return std::get_if<Tensor>(&it->second);
}

// ---- Graph ----

Value* Graph::add_value(const std::string& name) {
  std::string unique = name;
  for (int i = 1; by_name_.count(unique); ++i) unique = name + "_" + std::to_string(i);
  values_.push_back(std::make_unique<Value>());
  Value* v = values_.back().get();
  v->name = unique;
  by_name_[unique] = v;
  return v;
}

Value* Graph::add_constant(const std::string& name, Tensor data) {
  Value* v = add_value(name);
  v->dtype = data.dtype();
  v->shape = make_shape(data.shape());
  v->initializer = std::move(data);
  return v;
}

Node* Graph::add_node(std::string op_type, std::string name, std::vector<Value*> inputs,
                      std::vector<Value*> outputs) {
  auto node = std::make_unique<Node>();
  node->op_type = std::move(op_type);
  node->name = std::move(name);
  node->inputs = std::move(inputs);
  node->outputs = std::move(outputs);
  for (Value* out : node->outputs)
    if (out) out->producer = node.get();
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

Node* Graph::insert_node_before(const Node* before, std::string op_type, std::string name,
                                std::vector<Value*> inputs, std::vector<Value*> outputs) {
  Node* n = add_node(std::move(op_type), std::move(name), std::move(inputs), std::move(outputs));
  auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](const auto& p) { return p.get() == before; });
  if (it != nodes_.end()) std::rotate(it, nodes_.end() - 1, nodes_.end());
  return n;
}

Value* Graph::find_value(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<Node*> Graph::consumers(const Value* v) const {
  std::vector<Node*> out;
  for (const auto& n : nodes_)
    if (std::find(n->inputs.begin(), n->inputs.end(), v) != n->inputs.end()) out.push_back(n.get());
  return out;
}

bool Graph::is_graph_output(const Value* v) const {
  return std::find(outputs.begin(), outputs.end(), v) != outputs.end();
}

void Graph::replace_all_uses(Value* from, Value* to) {
  for (auto& n : nodes_)
    for (Value*& in : n->inputs)
      if (in == from) in = to;
  for (Value*& out : outputs)
    if (out == from) out = to;
}

void Graph::remove_nodes(const std::function<bool(const Node&)>& pred) {
  for (auto& n : nodes_)
    if (pred(*n))
      for (Value* out : n->outputs)
        if (out && out->producer == n.get()) out->producer = nullptr;
  std::erase_if(nodes_, [&](const auto& n) { return pred(*n); });
}

void Graph::remove_unused_values() {
  std::unordered_set<const Value*> used(inputs.begin(), inputs.end());
  used.insert(outputs.begin(), outputs.end());
  for (const auto& n : nodes_) {
    used.insert(n->inputs.begin(), n->inputs.end());
    used.insert(n->outputs.begin(), n->outputs.end());
  }
  std::erase_if(values_, [&](const auto& v) {
    if (used.count(v.get())) return false;
    by_name_.erase(v->name);
    return true;
  });
}

bool Graph::topological_sort() {
  std::unordered_map<const Node*, size_t> pending;  // inputs not yet produced
  std::unordered_map<const Value*, std::vector<Node*>> users;
  for (const auto& n : nodes_) {
    size_t count = 0;
    std::set<const Value*> seen;
    for (Value* in : n->inputs) {
      if (!in || !in->producer || !seen.insert(in).second) continue;
      users[in].push_back(n.get());
      ++count;
    }
    pending[n.get()] = count;
  }
  std::vector<Node*> ready;
  for (const auto& n : nodes_)
    if (pending[n.get()] == 0) ready.push_back(n.get());
  std::vector<Node*> order;
  // Keep the original relative order among ready nodes: process in a stable way.
  std::unordered_map<const Node*, size_t> position;
  for (size_t i = 0; i < nodes_.size(); ++i) position[nodes_[i].get()] = i;
  auto cmp = [&](Node* a, Node* b) { return position[a] > position[b]; };
  std::make_heap(ready.begin(), ready.end(), cmp);
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), cmp);
    Node* n = ready.back();
    ready.pop_back();
    order.push_back(n);
    for (Value* out : n->outputs) {
      if (!out) continue;
      for (Node* u : users[out]) {
        if (--pending[u] == 0) {
          ready.push_back(u);
          std::push_heap(ready.begin(), ready.end(), cmp);
        }
      }
    }
  }
  if (order.size() != nodes_.size()) return false;
  std::unordered_map<const Node*, std::unique_ptr<Node>> owned;
  for (auto& n : nodes_) owned[n.get()] = std::move(n);
  for (size_t i = 0; i < order.size(); ++i) nodes_[i] = std::move(owned[order[i]]);
  return true;
}

}  // namespace kiln::ir
