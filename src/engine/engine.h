// An engine: what it was built from and for (metadata), the optimized graph with its
// weights, and the CUDA plans (engine_plans.h). Saved as one .kiln file (engine_format.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/build_options.h"
#include "engine/engine_plans.h"
#include "engine/engine_signing.h"
#include "engine/environment.h"
#include "ir/graph.h"
#include "kiln/status.h"
#include "quant/quantize_graph.h"

namespace kiln::engine {

struct ModelInfo {
  std::string source_path;    // absolute path of the ONNX file it was built from
  std::string source_sha256;  // of that file's bytes at build time
  std::string task;
  std::vector<std::string> names;
  int64_t stride = 32;
  int64_t imgsz_h = 0, imgsz_w = 0;
  std::vector<int64_t> kpt_shape;
  int64_t opset = 0;
};

// How an INT8 engine was quantized: where its ranges came from and every quantizable
// layer's precision with the reason.
struct Int8Info {
  std::string source;            // "calibration" or "QDQ model"
  std::string calibration_data;  // --calib as given (empty for a QDQ model)
  std::string method;            // "mse", "percentile=99.99", ...
  int64_t images = 0;            // calibration images used (held-back ones included)
  std::string calibration_key;   // SHA-256 keying the calibration cache
  bool calibration_reused = false;
  // Where the activation statistics were gathered: "cpu", or "cuda:0 (NVIDIA H200, cc 9.0,
  // CUDA runtime 13000, cuDNN 91900)".
  std::string calibration_device;
  std::optional<double> target_drop;
  std::string sensitivity;       // what the sensitivity analysis measured and kept float
  std::vector<quant::LayerChoice> layers;
};

struct BuildInfo {
  Device device;
  Precision precision = Precision::kFp32;
  BatchProfile batch;
  double workspace_gb = 0;
  std::string tactics = "none";  // how tactics were chosen ("none" on the CPU)
  double build_seconds = 0;
  std::optional<double> max_relative_error;  // verification against the source model
  std::string verification_note;             // why verification was skipped, if it was
  std::optional<Int8Info> int8;              // INT8 engines
};

struct EngineMetadata {
  Fingerprint environment;
  ModelInfo model;
  BuildInfo build;
  std::string built_at;  // ISO 8601 UTC
};

nlohmann::json to_json(const EngineMetadata& m);
// InvalidArgument naming the field that is missing or of the wrong type.
Result<EngineMetadata> metadata_from_json(const nlohmann::json& j);

// Everything about an engine file except its graph: enough for `kiln info` and for the
// compatibility check, and readable even when the checksum fails.
struct EngineInfo {
  std::filesystem::path path;
  uint64_t file_size = 0;
  uint32_t format_version = 0;
  uint32_t flags = 0;
  bool checksum_ok = false;
  SignatureState signature = SignatureState::kUnsigned;  // checked when inspected with a key
  EngineMetadata metadata;
  uint64_t graph_bytes = 0, weight_bytes = 0, plan_bytes = 0;  // plan_bytes: plans and recorded plans
  EnginePlans plans;
};

struct Engine {
  EngineInfo info;
  ir::Graph graph;
};

// Corrupt (one line naming the file) when the file is not a readable engine. With a `key`,
// info.signature says whether the file is signed with it.
Result<EngineInfo> inspect_engine(const std::filesystem::path& path, const SigningKey* key = nullptr);
// Also Corrupt on a checksum mismatch and Incompatible on another format version; with a
// `key`, refuses an engine not signed with it (require_valid_signature).
Result<Engine> load_engine(const std::filesystem::path& path, const SigningKey* key = nullptr);
// The same from the bytes of an engine file; `path` names it in errors.
Result<Engine> load_engine_bytes(std::span<const uint8_t> bytes, const std::filesystem::path& path,
                                 const SigningKey* key = nullptr);

// The bytes of the engine file for `metadata` + `graph` + `plans`, signed with `key` if set.
std::vector<uint8_t> encode_engine_file(const EngineMetadata& metadata, const ir::Graph& graph,
                                        const EnginePlans& plans = {}, const SigningKey* key = nullptr);

// Writes atomically (temp file + rename). Test hook: KILN_TEST_PAUSE_BEFORE_WRITE_MS
// makes the writer sleep that long after encoding, before writing, so a test can kill a
// builder mid-build and check that the previous engine survives.
Status save_engine(const std::filesystem::path& path, std::span<const uint8_t> engine_bytes);

// Current UTC time as "2025-01-31T12:34:56Z".
std::string iso_time_now();

}  // namespace kiln::engine
