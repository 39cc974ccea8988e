// kiln rebuild --config kiln.yaml [--models a,b] [--force] [--cache-dir D]
//   [--models-dir D] [--device ...] [--precision ...] [--batch ...] [--imgsz N] [--json]
//   [--quiet|--verbose]
// Brings the engines of the models a kiln.yaml names up to date in the cache (building
// those missing, rebuilding those stale for this environment) and prints a table: model,
// status (built, rebuilt, cached, failed), time, size, precision, imgsz, batch, engine.
// Exit 2 if any model failed. Engines are signed with the config's engine_key
// ($KILN_ENGINE_KEY wins over it), and cached ones not signed with it rebuilt.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli_output.h"
#include "commands.h"
#include "core/json_text.h"
#include "engine/cache.h"
#include "engine/config.h"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct RebuildArgs {
  std::string config, cache_dir, models_dir;
  std::vector<std::string> models;
  std::optional<std::string> device, precision, batch;
  std::optional<int64_t> imgsz;
  bool force = false, json = false;
  Verbosity verbosity = Verbosity::kNormal;
};

struct Row {
  std::string model, status, precision, batch, path, reason;
  int64_t imgsz_h = 0, imgsz_w = 0;
  double seconds = 0;
  uint64_t size = 0;
};

// The imgsz column: "640", or "640x480" for a non-square input; "-" when unknown.
std::string imgsz_text(const Row& r) {
  if (r.imgsz_h <= 0) return "-";
  return r.imgsz_h == r.imgsz_w ? std::to_string(r.imgsz_h) : std::to_string(r.imgsz_h) + "x" + std::to_string(r.imgsz_w);
}

Result<Row> rebuild_model(const engine::Config& config, const engine::ModelConfig& m, const RebuildArgs& a,
                          engine::Cache& cache, Messages& messages) {
  KILN_ASSIGN_OR_RETURN(fs::path source, engine::resolve_model_source(config, m, a.models_dir));
  engine::OptionOverrides o{a.device, a.precision, a.batch, a.imgsz, std::nullopt};
  KILN_ASSIGN_OR_RETURN(engine::BuildOptions options, engine::resolve_build_options(&config, &m, o));
  KILN_ASSIGN_OR_RETURN(options.signing_key, engine::resolve_signing_key("", config.engine_key));
  BuildProgress progress(messages);
  KILN_ASSIGN_OR_RETURN(engine::CacheOutcome outcome, cache.get_or_build(source, options, a.force, progress.hook()));
  progress.finish();
  KILN_ASSIGN_OR_RETURN(engine::EngineInfo info, engine::inspect_engine(outcome.path));
  const engine::EngineMetadata& meta = info.metadata;
  Row row{m.name, "cached", std::string(to_string(options.precision)), meta.build.batch.to_string(), outcome.path.string(),
          outcome.reason, meta.model.imgsz_h, meta.model.imgsz_w, 0.0, info.file_size};
  if (outcome.built) {
    // CacheOutcome::reason: "first use", "forced", or why the cached engine was replaced.
    row.status = outcome.reason == "first use" || outcome.reason == "forced" ? "built" : "rebuilt";
    row.seconds = meta.build.build_seconds;
    messages.event(row.status, m.name + ": " + row.status + " engine " + row.path + " (" + outcome.reason + ")");
  } else {
    messages.detail(m.name + ": engine cache hit: " + row.path);
  }
  messages.tactics(outcome.path);
  return row;
}

int run_rebuild(const RebuildArgs& a) {
  auto config = engine::load_config(a.config);
  if (!config.ok()) return report_error("rebuild", config.status());
  for (const std::string& name : a.models) {
    bool known = std::any_of(config->models.begin(), config->models.end(), [&](const auto& m) { return m.name == name; });
    if (!known) return report_error("rebuild", error(StatusCode::kNotFound, a.config, ": no model named '", name, "'"));
  }
  engine::Cache cache(engine::default_cache_dir(a.cache_dir, config->cache_dir));
  Messages messages("rebuild", a.verbosity);
  std::vector<Row> rows;
  bool failed = false;
  for (const engine::ModelConfig& m : config->models) {
    if (!a.models.empty() && std::find(a.models.begin(), a.models.end(), m.name) == a.models.end()) continue;
    auto row = rebuild_model(*config, m, a, cache, messages);
    if (!row.ok()) {
      failed = true;
      report_error("rebuild", row.status());
      Row r;
      r.model = m.name;
      r.status = "failed";
      r.precision = m.precision.value_or("fp32");
      r.reason = row.status().message();
      rows.push_back(std::move(r));
    } else {
      rows.push_back(std::move(row).value());
    }
  }
  if (a.json) {
    json j = json::array();
    for (const Row& r : rows) {
      json row{{"model", r.model},         {"status", r.status}, {"seconds", r.seconds}, {"size", r.size},
               {"precision", r.precision}, {"batch", r.batch},   {"engine", r.path},     {"reason", r.reason}};
      row["imgsz"] = r.imgsz_h > 0 ? json{r.imgsz_h, r.imgsz_w} : json();
      j.push_back(std::move(row));
    }
    std::cout << json_text(j, 2) << std::endl;
  } else {
    std::ostringstream os;
    os << std::left << std::setw(16) << "model" << std::setw(9) << "status" << std::right << std::setw(9) << "time"
       << std::setw(10) << "size" << "  " << std::left << std::setw(10) << "precision" << std::setw(10) << "imgsz"
       << std::setw(10) << "batch" << "engine\n";
    for (const Row& r : rows)
      os << std::left << std::setw(16) << r.model << std::setw(9) << r.status << std::right << std::setw(7) << std::fixed
         << std::setprecision(2) << r.seconds << " s" << std::setw(7) << std::setprecision(1)
         << static_cast<double>(r.size) / 1e6 << " MB" << "  " << std::left << std::setw(10) << r.precision
         << std::setw(10) << imgsz_text(r) << std::setw(10) << (r.batch.empty() ? "-" : r.batch) << r.path << "\n";
    std::cout << os.str() << std::flush;
  }
  return failed ? kExitError : kExitOk;
}

}  // namespace

Runner register_rebuild(CLI::App& app) {
  auto a = std::make_shared<RebuildArgs>();
  CLI::App* sub = app.add_subcommand("rebuild", "Build (or reuse) the engines of every model a kiln.yaml names");
  sub->add_option("--config", a->config, "kiln.yaml")->required();
  sub->add_option("--models", a->models, "Only these models (comma-separated)")->delimiter(',');
  sub->add_flag("--force", a->force, "Rebuild even if the cache holds an up-to-date engine");
  sub->add_option("--cache-dir", a->cache_dir, "Engine cache (overrides the config's cache_dir)");
  sub->add_option("--models-dir", a->models_dir, "Where model names resolve");
  sub->add_option("--device", a->device, "Override every model's device");
  sub->add_option("--precision", a->precision, "Override every model's precision");
  sub->add_option("--batch", a->batch, "Override every model's batch");
  sub->add_option("--imgsz", a->imgsz, "Override every model's imgsz");
  sub->add_flag("--json", a->json, "Print the table as JSON (with each model's imgsz, batch and why it was built)");
  add_verbosity_flags(*sub, a->verbosity);
  return [a] { return run_rebuild(*a); };
}

}  // namespace kiln::cli
