// kiln's intermediate representation: a Graph owns Nodes and Values. A Value is produced
// by at most one Node (none for graph inputs and initializers); Nodes are kept in
// topological order. Passes are functions over a Graph (src/passes/).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ir/dtype.h"
#include "ir/tensor.h"

namespace kiln::ir {

// One dimension: a known size, or a symbol (e.g. the batch "N"), or unknown.
struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string symbol;  // set when value < 0 and the dimension has a name

  static Dim known(int64_t v) { return Dim{v, {}}; }
  static Dim symbolic(std::string s) { return Dim{-1, std::move(s)}; }
  bool is_known() const { return value >= 0; }
  bool operator==(const Dim&) const = default;
};

using Shape = std::vector<Dim>;
std::string shape_to_string(const Shape& shape);       // "[N,3,640,640]", "?" for unknown dims
bool is_static(const Shape& shape);                    // every dim known
std::vector<int64_t> static_dims(const Shape& shape);  // requires is_static
Shape make_shape(const std::vector<int64_t>& dims);

class Node;

struct Value {
  std::string name;
  DType dtype = DType::kFloat32;
  std::optional<Shape> shape;         // unset until known (importer or shape inference)
  Node* producer = nullptr;           // null for graph inputs and initializers
  std::optional<Tensor> initializer;  // constant data (weights), if any

  bool is_constant() const { return initializer.has_value(); }
};

using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
                               std::vector<std::string>, Tensor>;

class Node {
 public:
  std::string name;
  std::string op_type;
  std::string domain;            // "" for the default ONNX domain
  std::vector<Value*> inputs;    // nullptr marks an omitted optional input
  std::vector<Value*> outputs;
  std::map<std::string, AttrValue> attrs;

  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  int64_t attr_int(const std::string& key, int64_t fallback) const;
  float attr_float(const std::string& key, float fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key, const std::vector<int64_t>& fallback = {}) const;
  std::vector<float> attr_floats(const std::string& key, const std::vector<float>& fallback = {}) const;
  const Tensor* attr_tensor(const std::string& key) const;

  // Input i if present (not omitted), else nullptr.
  Value* input(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  // Creates a value with a unique name (suffixes `name` if taken).
  Value* add_value(const std::string& name);
  // Creates a constant value holding `data`.
  Value* add_constant(const std::string& name, Tensor data);
  // Appends a node and sets its outputs' producer; the caller keeps topological order
  // (or calls topological_sort()).
  Node* add_node(std::string op_type, std::string name, std::vector<Value*> inputs,
                 std::vector<Value*> outputs);
  // Inserts a node right before `before` (for passes that rewrite in place).
  Node* insert_node_before(const Node* before, std::string op_type, std::string name,
                           std::vector<Value*> inputs, std::vector<Value*> outputs);

  Value* find_value(const std::string& name) const;
  std::vector<Node*> consumers(const Value* v) const;
  bool is_graph_output(const Value* v) const;
  // Points every use of `from` (node inputs and graph outputs) at `to`.
  void replace_all_uses(Value* from, Value* to);
  // Removes nodes matching `pred`; their output values stay until remove_unused_values().
  void remove_nodes(const std::function<bool(const Node&)>& pred);
  // Drops values nothing references (no producer, consumer, graph input/output).
  void remove_unused_values();
  // Reorders nodes so each follows the producers of its inputs. Fails on cycles.
  bool topological_sort();

  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  const std::vector<std::unique_ptr<Value>>& values() const { return values_; }

  std::vector<Value*> inputs;   // runtime inputs (not initializers)
  std::vector<Value*> outputs;
  std::map<std::string, std::string> metadata;  // ONNX metadata_props, verbatim
  int64_t opset = 0;             // default-domain opset the model was exported with
  std::string source_path;       // file it was imported from, if any

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Value>> values_;
  std::map<std::string, Value*> by_name_;
};

}  // namespace kiln::ir
