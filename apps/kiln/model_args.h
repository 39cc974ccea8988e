// The model options predict and val share (--model, --device, --task, --names, --config,
// --cache-dir, --strict-gpu, --on-mismatch) and loading the model the way both commands
// do: a model named in kiln.yaml by its name, a PyTorch .pt refused with the export
// command, the events (engine built or rebuilt, CPU fallback, metadata from the file
// name) said once on stderr and kept for --json, and an --imgsz the model cannot take
// refused.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_output.h"
#include "option_flags.h"
#include "kiln/model.h"

namespace kiln::cli {

struct ModelArgs {
  std::string model;        // a file, or a model name from the config
  std::string config;       // kiln.yaml; empty: ./kiln.yaml when --model is a name
  std::string device;
  std::string precision;
  int batch = 1;
  int imgsz = 0;            // 0: not given (the model's own)
  std::string task;
  std::string names;        // a file (yaml with names, or one per line) or "a,b,c"
  std::string cache_dir;
  std::string engine_key;   // kiln.yaml's engine_key ($KILN_ENGINE_KEY wins over it)
  std::string on_mismatch = "auto";
  bool strict_gpu = false;
  Int8Arguments int8;  // the commands register them (add_int8_flags)
};

// Registers --model, --device, --task, --names, --config, --cache-dir, --strict-gpu and
// --on-mismatch on `cmd` (the commands register --precision, --imgsz, --batch themselves:
// their meaning differs).
void add_model_args(CLI::App& cmd, ModelArgs& a, const std::string& model_help);
// --task and --names alone (kiln bench).
void add_metadata_args(CLI::App& cmd, std::string& task, std::string& names);
// --task and --names into `mo` (names parsed from the file or the comma list).
Status apply_metadata_args(const std::string& task, const std::string& names, ModelOptions& mo);

// The model file and its load options as the arguments give them: a name looked up in
// kiln.yaml (whose entry fills what the command line left unset), a PyTorch .pt refused
// with the export command, a missing file refused. `progress` is left for the caller.
struct ResolvedModel {
  std::string path;
  ModelOptions options;
};
Result<ResolvedModel> resolve_model_args(const ModelArgs& a);

// The loaded model and what its loading said, for --json:
// {"model", "source", "engine", "task", "device", "precision", "imgsz", "events": [...]}.
struct LoadedModel {
  Model model;
  nlohmann::json json;
};

Result<LoadedModel> load_model(const ModelArgs& a, Messages& messages);

// Says what loading `model` did (fallback, engine built or rebuilt, metadata notes) as
// events, and under --verbose the engine cache hit or miss and the engine's tactics;
// `seconds` < 0: the load time is not known.
void report_load(const ModelInfo& info, const std::string& model, double seconds, Messages& messages);

}  // namespace kiln::cli
