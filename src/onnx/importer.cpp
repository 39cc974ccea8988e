#include "onnx/importer.h"

#include <climits>
#include <unordered_map>
#include <unordered_set>

#include "core/file_util.h"
#include "ir/op_set.h"
#include "onnx/attribute_conversion.h"
#include "onnx/constant_node.h"
#include "onnx/import_context.h"
#include "onnx/model_validation.h"
#include "onnx/onnx.pb.h"
#include "onnx/opset_normalization.h"
#include "onnx/tensor_conversion.h"
#include "onnx/value_info.h"

namespace kiln::onnx {

namespace {

int64_t opset_of_domain(const ::onnx::ModelProto& model, const std::string& domain) {
  for (const auto& op : model.opset_import()) {
    if (is_default_domain(domain) ? is_default_domain(op.domain()) : op.domain() == domain) return op.version();
  }
  return 0;
}

// Builds an ir::Graph from a validated ModelProto. ONNX names resolve through `values_`
// rather than Graph::find_value, so a constant the normalizer adds can never capture a
// later ONNX value's name.
class GraphBuilder {
 public:
  GraphBuilder(const ::onnx::ModelProto& model, ImportContext ctx) : model_(model), ctx_(std::move(ctx)) {}

  Result<ir::Graph> build() {
    const ::onnx::GraphProto& g = model_.graph();
    for (const auto& p : model_.metadata_props()) graph_.metadata[p.key()] = p.value();
    graph_.opset = ctx_.opset;
    for (const auto& info : g.value_info()) value_info_[info.name()] = &info;
    for (const auto& info : g.output()) value_info_[info.name()] = &info;
    for (const auto& node : g.node()) taken_node_names_.insert(node.name());

    for (const auto& init : g.initializer()) {
      KILN_ASSIGN_OR_RETURN(ir::Tensor t, tensor_from_proto(init, "initializer '" + init.name() + "'", ctx_));
      values_[init.name()] = graph_.add_constant(init.name(), std::move(t));
    }
    // Older exporters (ir_version < 4) also list initializers as graph inputs: those are
    // weights, not runtime inputs.
    for (const auto& in : g.input()) {
      if (values_.count(in.name())) continue;
      ir::Value* v = graph_.add_value(in.name());
      KILN_RETURN_IF_ERROR(apply_value_info(in, *v, ctx_));
      values_[in.name()] = v;
      graph_.inputs.push_back(v);
    }
    for (int i = 0; i < g.node_size(); ++i) KILN_RETURN_IF_ERROR(add_node(g.node(i), i));
    for (const auto& out : g.output()) graph_.outputs.push_back(values_.at(out.name()));
    return std::move(graph_);
  }

 private:
  Status add_node(const ::onnx::NodeProto& proto, int index) {
    const bool default_domain = is_default_domain(proto.domain());
    if (default_domain && proto.op_type() == "Constant") {
      KILN_ASSIGN_OR_RETURN(ir::Tensor t, constant_node_value(proto, ctx_));
      if (proto.output_size() != 1 || proto.output(0).empty())
        return error(StatusCode::kCorrupt, ctx_.file, ": Constant node '", proto.name(), "' must have one output");
      values_[proto.output(0)] = graph_.add_constant(proto.output(0), std::move(t));
      return Status::Ok();
    }
    if (!default_domain || !ir::is_supported_op(proto.op_type())) {
      const std::string op = default_domain ? proto.op_type() : proto.domain() + "." + proto.op_type();
      int64_t opset = opset_of_domain(model_, proto.domain());
      return error(StatusCode::kUnsupported, ctx_.file, ": unsupported op '", op, "' (node '", proto.name(),
                   "', opset ", opset ? opset : ctx_.opset, ")");
    }
    const std::string name = proto.name().empty() ? generated_name(proto.op_type(), index) : proto.name();

    std::vector<ir::Value*> inputs;
    for (const std::string& in : proto.input()) inputs.push_back(in.empty() ? nullptr : values_.at(in));
    // Omitted optional outputs: trailing ones are dropped, inner ones stay as nullptr.
    int n_outputs = proto.output_size();
    while (n_outputs > 0 && proto.output(n_outputs - 1).empty()) --n_outputs;
    std::vector<ir::Value*> outputs;
    for (int i = 0; i < n_outputs; ++i) {
      const std::string& out = proto.output(i);
      if (out.empty()) {
        outputs.push_back(nullptr);
        continue;
      }
      ir::Value* v = graph_.add_value(out);
      if (auto it = value_info_.find(out); it != value_info_.end())
        KILN_RETURN_IF_ERROR(apply_value_info(*it->second, *v, ctx_));
      values_[out] = v;
      outputs.push_back(v);
    }
    ir::Node* node = graph_.add_node(proto.op_type(), name, std::move(inputs), std::move(outputs));
    for (const auto& attr : proto.attribute()) {
      KILN_ASSIGN_OR_RETURN(ir::AttrValue value, attr_from_proto(attr, name, ctx_));
      node->attrs[attr.name()] = std::move(value);
    }
    return normalize_to_latest_opset(graph_, *node, ctx_);
  }

  // A unique name for a node the exporter left unnamed: "<op>_<index>".
  std::string generated_name(const std::string& op_type, int index) {
    std::string base = op_type + "_" + std::to_string(index);
    std::string name = base;
    for (int k = 1; taken_node_names_.count(name); ++k) name = base + "_" + std::to_string(k);
    taken_node_names_.insert(name);
    return name;
  }

  const ::onnx::ModelProto& model_;
  ImportContext ctx_;
  ir::Graph graph_;
  std::unordered_map<std::string, ir::Value*> values_;
  std::unordered_map<std::string, const ::onnx::ValueInfoProto*> value_info_;
  std::unordered_set<std::string> taken_node_names_;
};

}  // namespace

Result<ir::Graph> import_model_bytes(std::span<const uint8_t> bytes, const std::string& display_name,
                                     const std::filesystem::path& base_dir) {
  if (bytes.empty()) return error(StatusCode::kCorrupt, display_name, ": empty file, not an ONNX model");
  // protobuf cannot parse a message of 2 GiB or more; such models keep weights as external data.
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    return error(StatusCode::kUnsupported, display_name,
                 ": model protobuf is larger than 2 GiB (store its weights as external data)");
  // PyTorch checkpoints are zip archives (torch >= 1.6) or raw pickles (protocol 2+).
  const bool zip = bytes.size() >= 4 && bytes[0] == 'P' && bytes[1] == 'K' && bytes[2] == 3 && bytes[3] == 4;
  const bool pickle = bytes.size() >= 2 && bytes[0] == 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
  if (zip || pickle)
    return error(StatusCode::kUnsupported, display_name,
                 ": a PyTorch checkpoint, not an ONNX model; export it to ONNX first: yolo export model=",
                 display_name, " format=onnx");
  ::onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return error(StatusCode::kCorrupt, display_name, ": not a valid ONNX model (truncated or corrupt protobuf)");
  KILN_RETURN_IF_ERROR(validate_model(model, display_name));

  ImportContext ctx{display_name, base_dir.empty() ? std::filesystem::path(".") : base_dir,
                    opset_of_domain(model, "")};
  KILN_ASSIGN_OR_RETURN(ir::Graph graph, GraphBuilder(model, ctx).build());
  return graph;
}

Result<ir::Graph> import_model(const std::filesystem::path& path) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path));
  KILN_ASSIGN_OR_RETURN(ir::Graph graph, import_model_bytes(bytes, path.string(), path.parent_path()));
  graph.source_path = path.string();
  return graph;
}

}  // namespace kiln::onnx
