#include "engine/engine.h"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "core/file_util.h"
#include "engine/engine_format.h"
#include "engine/graph_serialization.h"

namespace kiln::engine {

using nlohmann::json;

json to_json(const EngineMetadata& m) {
  json build{{"device", m.build.device.to_string()}, {"precision", to_string(m.build.precision)},
             {"batch", m.build.batch.to_string()}, {"workspace_gb", m.build.workspace_gb},
             {"tactics", m.build.tactics},          {"build_seconds", m.build.build_seconds},
             {"verification_note", m.build.verification_note}};
  build["max_relative_error"] = m.build.max_relative_error ? json(*m.build.max_relative_error) : json(nullptr);
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
  EngineInfo info{path,
                  bytes.size(),
                  c.format_version,
                  c.flags,
                  c.checksum_ok,
                  signature_state(bytes, c, key),
                  std::move(meta).value(),
                  c.graph.size(),
                  c.weights.size(),
                  c.plans.size(),
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
  c.metadata_json = to_json(metadata).dump(2, ' ', false, json::error_handler_t::replace);  // paths need not be UTF-8
  c.graph = std::move(sg.graph);
  c.weights = std::move(sg.weights);
  c.plans = encode_plans(plans);
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
