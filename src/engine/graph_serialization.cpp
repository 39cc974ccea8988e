#include "engine/graph_serialization.h"

#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "engine/byte_io.h"
#include "ir/op_set.h"
#include "ir/size_limits.h"
#include "passes/shape_inference.h"

namespace kiln::engine {

namespace {

constexpr uint32_t kNoValue = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kMaxRank = 16;
constexpr uint8_t kDTypeCount = static_cast<uint8_t>(ir::DType::kBool) + 1;

template <typename T> void write_vector(ByteWriter& w, const std::vector<T>& v) {
  w.put<uint32_t>(static_cast<uint32_t>(v.size()));
  for (const T& x : v) w.put<T>(x);
}

template <typename T> std::vector<T> read_vector(ByteReader& r) {
  std::vector<T> v(r.get_count(sizeof(T)));
  for (T& x : v) x = r.get<T>();
  return v;
}

void write_attr(ByteWriter& w, const ir::AttrValue& a) {
  w.put<uint8_t>(static_cast<uint8_t>(a.index()));
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, float>) w.put<T>(v);
        else if constexpr (std::is_same_v<T, std::string>) w.put_string(v);
        else if constexpr (std::is_same_v<T, std::vector<int64_t>> || std::is_same_v<T, std::vector<float>>) write_vector(w, v);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          w.put<uint32_t>(static_cast<uint32_t>(v.size()));
          for (const auto& s : v) w.put_string(s);
        } else write_tensor(w, v);
      },
      a);
}

ir::AttrValue read_attr(ByteReader& r) {
  switch (r.get<uint8_t>()) {
    case 0: return r.get<int64_t>();
    case 1: return r.get<float>();
    case 2: return r.get_string();
    case 3: return read_vector<int64_t>(r);
    case 4: return read_vector<float>(r);
    case 5: {
      std::vector<std::string> v(r.get_count(sizeof(uint32_t)));
      for (auto& s : v) s = r.get_string();
      return v;
    }
    case 6: return read_tensor(r);
    default: r.fail("unknown attribute kind"); return int64_t{0};
  }
}

}  // namespace

void write_tensor(ByteWriter& w, const ir::Tensor& t) {
  w.put<uint8_t>(static_cast<uint8_t>(t.dtype()));
  write_vector(w, t.shape());
  w.put<uint64_t>(t.nbytes());
  w.put_bytes({t.raw(), t.nbytes()});
}

ir::Tensor read_tensor(ByteReader& r) {
  uint8_t dt = r.get<uint8_t>();
  std::vector<int64_t> shape = read_vector<int64_t>(r);
  uint64_t nbytes = r.get<uint64_t>();
  if (!r.ok()) return {};
  if (dt >= kDTypeCount) { r.fail("unknown dtype " + std::to_string(dt)); return {}; }
  if (shape.size() > kMaxRank) { r.fail("tensor rank " + std::to_string(shape.size())); return {}; }
  auto dtype = static_cast<ir::DType>(dt);
  // Within kiln's size limits before any element count is multiplied out: a zero dim after
  // huge ones made the bytes match (0) while the count overflowed int64 wherever computed.
  const std::optional<int64_t> numel = ir::checked_numel(shape);
  if (!numel) { r.fail("tensor shape " + ir::shape_to_string(shape) + " is beyond kiln's limits"); return {}; }
  if (static_cast<uint64_t>(*numel) * ir::dtype_size(dtype) != nbytes) {
    r.fail("tensor byte count does not match its shape");
    return {};
  }
  auto bytes = r.get_bytes(nbytes);
  if (!r.ok()) return {};
  return ir::Tensor(dtype, std::move(shape), bytes);
}

SerializedGraph serialize_graph(const ir::Graph& graph) {
  std::unordered_map<const ir::Value*, uint32_t> index;
  ByteWriter g, wts;
  auto ref = [&](const ir::Value* v) { return v ? index.at(v) : kNoValue; };

  g.put<uint32_t>(static_cast<uint32_t>(graph.values().size()));
  uint32_t n_init = 0;
  for (const auto& v : graph.values()) {
    index[v.get()] = static_cast<uint32_t>(index.size());
    g.put_string(v->name);
    g.put<uint8_t>(static_cast<uint8_t>(v->dtype));
    g.put<uint8_t>(v->shape.has_value());
    if (v->shape) {
      g.put<uint32_t>(static_cast<uint32_t>(v->shape->size()));
      for (const ir::Dim& d : *v->shape) {
        g.put<int64_t>(d.value);
        g.put_string(d.symbol);
      }
    }
    n_init += v->initializer.has_value();
  }

  g.put<uint32_t>(static_cast<uint32_t>(graph.nodes().size()));
  for (const auto& n : graph.nodes()) {
    g.put_string(n->name);
    g.put_string(n->op_type);
    g.put_string(n->domain);
    g.put<uint32_t>(static_cast<uint32_t>(n->inputs.size()));
    for (const ir::Value* v : n->inputs) g.put<uint32_t>(ref(v));
    g.put<uint32_t>(static_cast<uint32_t>(n->outputs.size()));
    for (const ir::Value* v : n->outputs) g.put<uint32_t>(ref(v));
    g.put<uint32_t>(static_cast<uint32_t>(n->attrs.size()));
    for (const auto& [key, a] : n->attrs) {
      g.put_string(key);
      write_attr(g, a);
    }
  }

  for (const auto* list : {&graph.inputs, &graph.outputs}) {
    g.put<uint32_t>(static_cast<uint32_t>(list->size()));
    for (const ir::Value* v : *list) g.put<uint32_t>(ref(v));
  }
  g.put<uint32_t>(static_cast<uint32_t>(graph.metadata.size()));
  for (const auto& [k, v] : graph.metadata) {
    g.put_string(k);
    g.put_string(v);
  }
  g.put<int64_t>(graph.opset);
  g.put_string(graph.source_path);

  wts.put<uint32_t>(n_init);
  for (const auto& v : graph.values()) {
    if (!v->initializer) continue;
    wts.put<uint32_t>(index.at(v.get()));
    write_tensor(wts, *v->initializer);
  }
  return {std::move(g.bytes()), std::move(wts.bytes())};
}

Result<ir::Graph> deserialize_graph(std::span<const uint8_t> graph_bytes, std::span<const uint8_t> weight_bytes,
                                    const std::string& display_name) {
  ir::Graph graph;
  std::vector<ir::Value*> values;
  ByteReader r(graph_bytes);
  auto corrupt = [&](const ByteReader& rd, const char* section) {
    return error(StatusCode::kCorrupt, display_name, ": corrupt engine ", section, " section: ", rd.why());
  };
  auto value_at = [&](uint32_t i, bool allow_none) -> ir::Value* {
    if (i == kNoValue && allow_none) return nullptr;
    if (i >= values.size()) { r.fail("value index " + std::to_string(i) + " out of range"); return nullptr; }
    return values[i];
  };

  uint32_t n_values = r.get_count(2 * sizeof(uint32_t));
  for (uint32_t i = 0; i < n_values && r.ok(); ++i) {
    std::string name = r.get_string();
    uint8_t dt = r.get<uint8_t>();
    bool has_shape = r.get<uint8_t>() != 0;
    if (dt >= kDTypeCount) r.fail("unknown dtype " + std::to_string(dt));
    ir::Value* v = graph.add_value(name);
    if (v->name != name) r.fail("duplicate value name '" + name + "'");
    v->dtype = static_cast<ir::DType>(dt);
    if (has_shape) {
      ir::Shape shape(r.get_count(sizeof(int64_t) + sizeof(uint32_t)));
      for (ir::Dim& d : shape) {
        d.value = r.get<int64_t>();
        d.symbol = r.get_string();
      }
      v->shape = std::move(shape);
    }
    values.push_back(v);
  }

  uint32_t n_nodes = r.get_count(3 * sizeof(uint32_t));
  for (uint32_t i = 0; i < n_nodes && r.ok(); ++i) {
    std::string name = r.get_string();
    std::string op = r.get_string();
    std::string domain = r.get_string();
    std::vector<ir::Value*> ins(r.get_count(sizeof(uint32_t)));
    for (auto& v : ins) v = value_at(r.get<uint32_t>(), true);
    std::vector<ir::Value*> outs(r.get_count(sizeof(uint32_t)));
    for (auto& v : outs) v = value_at(r.get<uint32_t>(), false);
    std::map<std::string, ir::AttrValue> attrs;
    uint32_t n_attrs = r.get_count(sizeof(uint32_t) + 1);
    for (uint32_t a = 0; a < n_attrs && r.ok(); ++a) {
      std::string key = r.get_string();
      attrs[key] = read_attr(r);
    }
    if (!r.ok()) break;
    for (ir::Value* o : outs)
      if (o->producer) r.fail("value '" + o->name + "' has two producers");
    if (!r.ok()) break;
    ir::Node* n = graph.add_node(std::move(op), std::move(name), std::move(ins), std::move(outs));
    n->domain = std::move(domain);
    n->attrs = std::move(attrs);
  }

  for (auto* list : {&graph.inputs, &graph.outputs}) {
    uint32_t n = r.get_count(sizeof(uint32_t));
    for (uint32_t i = 0; i < n && r.ok(); ++i) list->push_back(value_at(r.get<uint32_t>(), false));
  }
  uint32_t n_meta = r.get_count(2 * sizeof(uint32_t));
  for (uint32_t i = 0; i < n_meta && r.ok(); ++i) {
    std::string k = r.get_string();
    graph.metadata[k] = r.get_string();
  }
  graph.opset = r.get<int64_t>();
  graph.source_path = r.get_string();
  if (r.ok() && r.remaining() != 0) r.fail("trailing bytes");
  if (!r.ok()) return corrupt(r, "graph");

  ByteReader w(weight_bytes);
  uint32_t n_init = w.get_count(sizeof(uint32_t) + 1);
  for (uint32_t i = 0; i < n_init && w.ok(); ++i) {
    uint32_t vi = w.get<uint32_t>();
    ir::Tensor t = read_tensor(w);
    if (!w.ok()) break;
    if (vi >= values.size()) w.fail("weight for value index " + std::to_string(vi) + " out of range");
    else if (values[vi]->initializer) w.fail("value '" + values[vi]->name + "' has two weights");
    else values[vi]->initializer = std::move(t);
  }
  if (w.ok() && w.remaining() != 0) w.fail("trailing bytes");
  if (!w.ok()) return corrupt(w, "weights");
  return graph;
}

Status validate_loaded_graph(ir::Graph& graph, const std::string& display_name) {
  auto corrupt = [&](const auto&... parts) {
    return error(StatusCode::kCorrupt, display_name, ": invalid engine graph: ", parts...);
  };
  std::unordered_set<const ir::Value*> graph_inputs(graph.inputs.begin(), graph.inputs.end());
  for (const ir::Value* v : graph.inputs)
    if (v->producer || v->initializer) return corrupt("graph input '", v->name, "' is computed");
  for (const auto& n : graph.nodes()) {
    if (!n->domain.empty() || !ir::is_supported_op(n->op_type))
      return corrupt("node '", n->name, "': unknown op '", n->op_type, "'");
    for (const ir::Value* in : n->inputs)
      if (in && !in->producer && !in->initializer && !graph_inputs.count(in))
        return corrupt("node '", n->name, "' reads '", in->name, "', which nothing defines");
  }
  if (graph.outputs.empty()) return corrupt("graph has no outputs");
  for (const ir::Value* v : graph.outputs)
    if (!v->producer && !v->initializer && !graph_inputs.count(v))
      return corrupt("graph output '", v->name, "' is not defined");
  for (const auto& v : graph.values()) {
    if (!v->shape && (v->producer || graph_inputs.count(v.get())))
      return corrupt("value '", v->name, "' has no shape");
    if (v->initializer && (v->initializer->dtype() != v->dtype ||
                           (v->shape && *v->shape != ir::make_shape(v->initializer->shape()))))
      return corrupt("weight '", v->name, "' does not match its declared type and shape");
  }
  Status inferred = passes::infer_shapes(graph).status();
  if (!inferred.ok()) return corrupt(inferred.message());
  return Status::Ok();
}

}  // namespace kiln::engine
