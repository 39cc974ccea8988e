#include "engine/engine.h"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "core/file_util.h"
#include "core/json_text.h"
#include "engine/engine_format.h"
#include "engine/graph_serialization.h"

namespace kiln::engine {

using nlohmann::json;

namespace {

json int8_to_json(const Int8Info& i) {
  json layers = json::array();
  for (const quant::LayerChoice& l : i.layers)
    layers.push_back({{"node", l.node}, {"op", l.op}, {"precision", quant::to_string(l.precision)}, {"reason", l.reason}});
  return {{"source", i.source},
          {"calibration_data", i.calibration_data},
          {"method", i.method},
          {"images", i.images},
          {"calibration_key", i.calibration_key},
          {"calibration_reused", i.calibration_reused},
          {"calibration_device", i.calibration_device},
          {"target_drop", i.target_drop ? json(*i.target_drop) : json(nullptr)},
          {"sensitivity", i.sensitivity},
          {"layers", layers}};
}

// Throws json::exception on a missing field or a wrong type (metadata_from_json reports it).
Result<Int8Info> int8_from_json(const json& j) {
  Int8Info i;
  i.source = j.at("source").get<std::string>();
  i.calibration_data = j.at("calibration_data").get<std::string>();
  i.method = j.at("method").get<std::string>();
  i.images = j.at("images").get<int64_t>();
  i.calibration_key = j.at("calibration_key").get<std::string>();
  i.calibration_reused = j.at("calibration_reused").get<bool>();
  // Engines from before the GPU gathered statistics were all calibrated on the CPU.
  i.calibration_device = j.value("calibration_device", i.source == "calibration" ? "cpu" : "");
  if (!j.at("target_drop").is_null()) i.target_drop = j.at("target_drop").get<double>();
  i.sensitivity = j.at("sensitivity").get<std::string>();
  for (const json& l : j.at("layers")) {
    quant::LayerChoice c{l.at("node").get<std::string>(), l.at("op").get<std::string>(), quant::LayerPrecision::kFloat,
                         l.at("reason").get<std::string>()};
    const std::string p = l.at("precision").get<std::string>();
    if (p == "int8") c.precision = quant::LayerPrecision::kInt8;
    else if (p != "float") return error(StatusCode::kInvalidArgument, "int8 layer ", c.node, ": precision '", p, "'");
    i.layers.push_back(std::move(c));
  }
  return i;
}

}  // namespace

json to_json(const EngineMetadata& m) {
  json build{{"device", m.build.device.to_string()}, {"precision", to_string(m.build.precision)},
             {"batch", m.build.batch.to_string()}, {"workspace_gb", m.build.workspace_gb},
             {"tactics", m.build.tactics},          {"build_seconds", m.build.build_seconds},
             {"verification_note", m.build.verification_note}};
  build["max_relative_error"] = m.build.max_relative_error ? json(*m.build.max_relative_error) : json(nullptr);
  if (m.build.int8) build["int8"] = int8_to_json(*m.build.int8);
  return json{{"environment", to_json(m.environment)},
              {"model",
               {{"source_path", m.model.source_path}, {"source_sha256", m.model.source_sha256},
                {"task", m.model.task}, {"names", m.model.names}, {"stride", m.model.stride},
                {"imgsz", {m.model.imgsz_h, m.model.imgsz_w}}, {"kpt_shape", m.model.kpt_shape},
                {"opset", m.model.opset}}},
              {"build", build},
              {"built_at", m.built_at}};
}

Result<EngineMetadata> metadata_from_json(const json& j) {
  try {
    EngineMetadata m;
    KILN_ASSIGN_OR_RETURN(m.environment, fingerprint_from_json(j.at("environment")));
    const json& model = j.at("model");
    m.model.source_path = model.at("source_path").get<std::string>();
    m.model.source_sha256 = model.at("source_sha256").get<std::string>();
    m.model.task = model.at("task").get<std::string>();
    m.model.names = model.at("names").get<std::vector<std::string>>();
    m.model.stride = model.at("stride").get<int64_t>();
    auto imgsz = model.at("imgsz").get<std::vector<int64_t>>();
    if (imgsz.size() != 2) return error(StatusCode::kInvalidArgument, "model.imgsz must have 2 values");
    m.model.imgsz_h = imgsz[0];
    m.model.imgsz_w = imgsz[1];
    m.model.kpt_shape = model.at("kpt_shape").get<std::vector<int64_t>>();
    m.model.opset = model.at("opset").get<int64_t>();
    const json& build = j.at("build");
    KILN_ASSIGN_OR_RETURN(m.build.device, parse_device(build.at("device").get<std::string>()));
    KILN_ASSIGN_OR_RETURN(m.build.precision, parse_precision(build.at("precision").get<std::string>()));
    KILN_ASSIGN_OR_RETURN(m.build.batch, parse_batch_profile(build.at("batch").get<std::string>()));
    m.build.workspace_gb = build.at("workspace_gb").get<double>();
    m.build.tactics = build.at("tactics").get<std::string>();
    m.build.build_seconds = build.at("build_seconds").get<double>();
    if (!build.at("max_relative_error").is_null()) m.build.max_relative_error = build.at("max_relative_error").get<double>();
    m.build.verification_note = build.at("verification_note").get<std::string>();
    if (build.contains("int8")) {
      KILN_ASSIGN_OR_RETURN(m.build.int8, int8_from_json(build.at("int8")));
    }
    m.built_at = j.at("built_at").get<std::string>();
    return m;
  } catch (const json::exception& e) {
    // what() is "[json.exception.type_error.302] type must be string, but is number": keep the reason.
    const std::string why = e.what();
    const size_t end = why.find("] ");
    return error(StatusCode::kInvalidArgument, "a field is missing or has the wrong type (",
                 end == std::string::npos ? why : why.substr(end + 2), ")");
  }
}

namespace {

struct Decoded {
  EngineContainer container;
  EngineInfo info;
};

Result<Decoded> decode_bytes(std::span<const uint8_t> bytes, const std::filesystem::path& path, const SigningKey* key) {
  KILN_ASSIGN_OR_RETURN(EngineContainer c, decode_engine(bytes, path.string()));
  json j = json::parse(c.metadata_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return error(StatusCode::kCorrupt, path.string(), ": not a valid kiln engine: metadata is not JSON");
  auto meta = metadata_from_json(j);
  if (!meta.ok())
    return error(StatusCode::kCorrupt, path.string(), ": not a valid kiln engine: metadata: ", meta.status().message());
  KILN_ASSIGN_OR_RETURN(EnginePlans plans, decode_plans(c.plans, path.string()));
  const uint64_t plan_bytes = c.plans.size() + c.recorded_plans.size();
  plans.recorded = std::move(c.recorded_plans);
  EngineInfo info{path,
                  bytes.size(),
                  c.format_version,
                  c.flags,
                  c.checksum_ok,
                  signature_state(bytes, c, key),
                  std::move(meta).value(),
                  c.graph.size(),
                  c.weights.size(),
                  plan_bytes,
                  std::move(plans)};
  return Decoded{std::move(c), std::move(info)};
}

}  // namespace

Result<EngineInfo> inspect_engine(const std::filesystem::path& path, const SigningKey* key) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path));
  KILN_ASSIGN_OR_RETURN(Decoded d, decode_bytes(bytes, path, key));
  return std::move(d.info);
}

Result<Engine> load_engine(const std::filesystem::path& path, const SigningKey* key) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path));
  return load_engine_bytes(bytes, path, key);
}

Result<Engine> load_engine_bytes(std::span<const uint8_t> bytes, const std::filesystem::path& path,
                                 const SigningKey* key) {
  KILN_ASSIGN_OR_RETURN(Decoded d, decode_bytes(bytes, path, key));
  // The signature first: nothing of an engine that is not trusted gets further than this.
  if (key) KILN_RETURN_IF_ERROR(require_valid_signature(d.info.signature, path, *key));
  if (d.info.format_version != kFormatVersion)
    return error(StatusCode::kIncompatible, path.string(), ": engine format version ", d.info.format_version,
                 ", this kiln reads version ", kFormatVersion, " (rebuild it)");
  if (!d.info.checksum_ok)
    return error(StatusCode::kCorrupt, path.string(), ": checksum mismatch (the file was modified or damaged)");
  KILN_ASSIGN_OR_RETURN(ir::Graph graph, deserialize_graph(d.container.graph, d.container.weights, path.string()));
  KILN_RETURN_IF_ERROR(validate_loaded_graph(graph, path.string()));
  return Engine{std::move(d.info), std::move(graph)};
}

std::vector<uint8_t> encode_engine_file(const EngineMetadata& metadata, const ir::Graph& graph,
                                        const EnginePlans& plans, const SigningKey* key) {
  SerializedGraph sg = serialize_graph(graph);
  EngineContainer c;
  c.metadata_json = json_text(to_json(metadata), 2);
  c.graph = std::move(sg.graph);
  c.weights = std::move(sg.weights);
  c.plans = encode_plans(plans);
  c.recorded_plans = plans.recorded;
  return encode_engine(c, key ? std::span<const uint8_t>(key->secret) : std::span<const uint8_t>());
}

Status save_engine(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
  if (const char* ms = std::getenv("KILN_TEST_PAUSE_BEFORE_WRITE_MS"); ms && *ms)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoll(ms)));
  return write_file_atomic(path, bytes.data(), bytes.size());
}

std::string iso_time_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace kiln::engine
