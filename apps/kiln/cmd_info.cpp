// kiln info MODEL [--json]: what a model file holds: inputs, outputs, metadata, op
// histogram, parameter count and a FLOPs estimate. Models with dynamic dims are
// estimated at batch 1 and the metadata's imgsz, and the output says so. For a .kiln
// engine: its fingerprint, model and build metadata (engine/describe.h).
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "commands.h"
#include "core/json_text.h"
#include "engine/describe.h"
#include "ir/model_metadata.h"
#include "onnx/importer.h"
#include "passes/graph_summary.h"
#include "passes/shape_inference.h"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct InfoOptions {
  std::string model;
  std::string sign_key;
  bool json = false;
};

// Everything `kiln info` reports, whatever kind of file it came from.
struct ModelInfo {
  std::string format;  // "onnx"
  int64_t opset = 0;
  passes::GraphSummary summary;          // shapes as declared/inferred; FLOPs at flops_bindings
  passes::DimBindings flops_bindings;    // dims bound to estimate FLOPs (empty: static model)
  std::optional<ir::ModelMetadata> metadata;
  std::string metadata_error;            // set when the metadata props do not parse
};

// Concrete values for a dynamic input's symbols: batch 1, height/width from imgsz.
passes::DimBindings estimate_bindings(const ir::Graph& graph, const std::optional<ir::ModelMetadata>& meta) {
  passes::DimBindings b;
  for (const ir::Value* in : graph.inputs) {
    if (!in->shape) continue;
    const ir::Shape& s = *in->shape;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i].is_known() || s[i].symbol.empty()) continue;
      if (i == 0) b[s[i].symbol] = 1;
      else if (i == 2 && s.size() == 4 && meta && meta->imgsz_h > 0) b[s[i].symbol] = meta->imgsz_h;
      else if (i == 3 && s.size() == 4 && meta && meta->imgsz_w > 0) b[s[i].symbol] = meta->imgsz_w;
    }
  }
  return b;
}

Result<ModelInfo> inspect_onnx(const fs::path& path) {
  KILN_ASSIGN_OR_RETURN(ir::Graph graph, onnx::import_model(path));
  ModelInfo info;
  info.format = "onnx";
  info.opset = graph.opset;
  auto meta = ir::parse_model_metadata(graph.metadata);
  if (meta.ok()) info.metadata = meta.value();
  else info.metadata_error = meta.status().message();
  KILN_RETURN_IF_ERROR(passes::infer_shapes(graph).status());
  info.summary = passes::summarize(graph);
  info.flops_bindings = estimate_bindings(graph, info.metadata);
  if (!info.flops_bindings.empty()) {
    KILN_RETURN_IF_ERROR(passes::infer_shapes(graph, info.flops_bindings).status());
    passes::GraphSummary bound = passes::summarize(graph);
    info.summary.flops = bound.flops;
    info.summary.nodes_without_shapes = bound.nodes_without_shapes;
  }
  return info;
}

// What `kiln info` prints for one file, in both forms.
struct Report {
  std::string text;
  json doc;
};

std::string to_text(const std::string& file, const ModelInfo& info);
json to_json(const std::string& file, const ModelInfo& info);

// The one place that dispatches on the kind of model file: a .kiln engine is described by
// the engine library (works without a GPU), anything else is read as ONNX.
Result<Report> inspect(const fs::path& path, const fs::path& sign_key) {
  if (!fs::exists(path)) return error(StatusCode::kNotFound, path.string(), ": no such file");
  if (path.extension() == ".kiln") {
    KILN_ASSIGN_OR_RETURN(std::optional<engine::SigningKey> key, engine::resolve_signing_key(sign_key, std::nullopt));
    KILN_ASSIGN_OR_RETURN(engine::Description d, engine::describe(path, key ? &*key : nullptr));
    return Report{d.text, json::parse(json_text(d.json))};
  }
  KILN_ASSIGN_OR_RETURN(ModelInfo info, inspect_onnx(path));
  return Report{to_text(path.string(), info), to_json(path.string(), info)};
}

json dims_json(const std::optional<ir::Shape>& shape) {
  if (!shape) return nullptr;
  json dims = json::array();
  for (const ir::Dim& d : *shape) {
    if (d.is_known()) dims.push_back(d.value);
    else if (!d.symbol.empty()) dims.push_back(d.symbol);
    else dims.push_back(nullptr);
  }
  return dims;
}

json tensors_json(const std::vector<passes::TensorSummary>& tensors) {
  json list = json::array();
  for (const auto& t : tensors)
    list.push_back({{"name", t.name}, {"dtype", std::string(ir::dtype_name(t.dtype))}, {"shape", dims_json(t.shape)}});
  return list;
}

json to_json(const std::string& file, const ModelInfo& info) {
  const passes::GraphSummary& s = info.summary;
  json doc;
  doc["file"] = file;
  doc["format"] = info.format;
  doc["opset"] = info.opset;
  doc["inputs"] = tensors_json(s.inputs);
  doc["outputs"] = tensors_json(s.outputs);
  if (info.metadata) {
    const ir::ModelMetadata& m = *info.metadata;
    doc["metadata"] = {{"task", m.task},         {"names", m.names},     {"stride", m.stride},
                       {"imgsz", json::array({m.imgsz_h, m.imgsz_w})}, {"kpt_shape", m.kpt_shape},
                       {"batch", m.batch},       {"end2end", m.end2end}, {"version", m.version}};
  } else {
    doc["metadata"] = nullptr;
    doc["metadata_error"] = info.metadata_error;
  }
  doc["metadata_props"] = s.metadata;
  doc["nodes"] = s.node_count;
  doc["ops"] = s.op_histogram;
  doc["parameters"] = s.parameter_count;
  doc["quantized_parameters"] = s.quantized_parameter_count;
  doc["flops"] = s.flops;
  doc["gflops"] = s.gflops();
  doc["flops_bound_dims"] = info.flops_bindings;
  doc["flops_uncounted_nodes"] = s.nodes_without_shapes;
  return doc;
}

std::string to_text(const std::string& file, const ModelInfo& info) {
  std::ostringstream os;
  os << "model: " << file << " (" << info.format << ", opset " << info.opset << ")\n";
  if (info.metadata) {
    const ir::ModelMetadata& m = *info.metadata;
    os << "task: " << (m.task.empty() ? "unknown" : m.task);
    if (m.imgsz_h > 0) os << "  imgsz: " << m.imgsz_h << "x" << m.imgsz_w;
    os << "  stride: " << m.stride << "  classes: " << m.names.size();
    if (!m.kpt_shape.empty()) os << "  kpt_shape: " << ir::shape_to_string(m.kpt_shape);
    if (!m.version.empty()) os << "  ultralytics: " << m.version;
    os << "\n";
  } else {
    os << "metadata: not understood (" << info.metadata_error << ")\n";
  }
  os << info.summary.to_text();
  if (!info.flops_bindings.empty()) {
    os << "note: dynamic model; FLOPs estimated with";
    for (const auto& [sym, v] : info.flops_bindings) os << " " << sym << "=" << v;
    os << "\n";
  }
  return os.str();
}

int run_info(const InfoOptions& o) {
  auto report = inspect(o.model, o.sign_key);
  if (!report.ok()) return report_error("info", report.status());
  if (o.json) std::cout << json_text(report->doc, 2) << "\n";
  else std::cout << report->text;
  // A damaged engine is described (what it claims), but not reported as fine.
  const json& file = report->doc.contains("file") ? report->doc["file"] : json();
  if (file.is_object() && !file.value("checksum_ok", true))
    return report_error("info", error(StatusCode::kCorrupt, o.model, ": checksum mismatch (the file was modified or damaged)"));
  if (file.is_object() && file.value("signature", "") == engine::signature_state_name(engine::SignatureState::kInvalid))
    return report_error("info", error(StatusCode::kCorrupt, o.model, ": signature does not match the signing key"));
  return kExitOk;
}

}  // namespace

Runner register_info(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Show a model's inputs, outputs, metadata, ops, parameters and FLOPs, or an engine's fingerprint and build");
  cmd->add_option("model", o->model, "model file (.onnx) or engine (.kiln)")->required();
  add_sign_key_option(*cmd, o->sign_key, "Check an engine's signature with this secret key file");
  cmd->add_flag("--json", o->json, "print one JSON document");
  return [o]() { return run_info(*o); };
}

}  // namespace kiln::cli
