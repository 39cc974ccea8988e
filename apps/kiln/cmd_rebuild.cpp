// kiln rebuild --config kiln.yaml [--models a,b] [--force] [--cache-dir D]
//   [--models-dir D] [--device ...] [--precision ...] [--batch ...] [--imgsz N] [--json]
// Brings the engines of the models a kiln.yaml names up to date in the cache (building
// those missing or stale for this environment) and prints a table: model, status, time,
// size, precision. Exit 2 if any model failed. Engines are signed with the config's
// engine_key ($KILN_ENGINE_KEY wins over it), and cached ones not signed with it replaced.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "commands.h"
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
};

struct Row {
  std::string model, status, precision, path;
  double seconds = 0;
  uint64_t size = 0;
};

Result<Row> rebuild_model(const engine::Config& config, const engine::ModelConfig& m, const RebuildArgs& a,
                          engine::Cache& cache) {
  KILN_ASSIGN_OR_RETURN(fs::path source, engine::resolve_model_source(config, m, a.models_dir));
  engine::OptionOverrides o{a.device, a.precision, a.batch, a.imgsz, std::nullopt};
  KILN_ASSIGN_OR_RETURN(engine::BuildOptions options, engine::resolve_build_options(&config, &m, o));
  KILN_ASSIGN_OR_RETURN(options.signing_key, engine::resolve_signing_key("", config.engine_key));
  KILN_ASSIGN_OR_RETURN(engine::CacheOutcome outcome, cache.get_or_build(source, options, a.force, terminal_progress("rebuild")));
  KILN_ASSIGN_OR_RETURN(engine::EngineInfo info, engine::inspect_engine(outcome.path));
  return Row{m.name, outcome.built ? "built" : "cached", std::string(to_string(options.precision)), outcome.path.string(),
             outcome.built ? info.metadata.build.build_seconds : 0.0, info.file_size};
}

int run_rebuild(const RebuildArgs& a) {
  auto config = engine::load_config(a.config);
  if (!config.ok()) return report_error("rebuild", config.status());
  for (const std::string& name : a.models) {
    bool known = std::any_of(config->models.begin(), config->models.end(), [&](const auto& m) { return m.name == name; });
    if (!known) return report_error("rebuild", error(StatusCode::kNotFound, a.config, ": no model named '", name, "'"));
  }
  engine::Cache cache(engine::default_cache_dir(a.cache_dir, config->cache_dir));
  std::vector<Row> rows;
  bool failed = false;
  for (const engine::ModelConfig& m : config->models) {
    if (!a.models.empty() && std::find(a.models.begin(), a.models.end(), m.name) == a.models.end()) continue;
    auto row = rebuild_model(*config, m, a, cache);
    if (!row.ok()) {
      failed = true;
      report_error("rebuild", row.status());
      rows.push_back(Row{m.name, "failed", m.precision.value_or("fp32"), "", 0, 0});
    } else {
      rows.push_back(std::move(row).value());
    }
  }
  if (a.json) {
    json j = json::array();
    for (const Row& r : rows)
      j.push_back({{"model", r.model}, {"status", r.status}, {"seconds", r.seconds}, {"size", r.size},
                   {"precision", r.precision}, {"engine", r.path}});
    std::cout << j.dump(2) << std::endl;
  } else {
    std::ostringstream os;
    os << std::left << std::setw(16) << "model" << std::setw(8) << "status" << std::right << std::setw(9) << "time"
       << std::setw(10) << "size" << "  " << std::left << std::setw(10) << "precision" << "engine\n";
    for (const Row& r : rows)
      os << std::left << std::setw(16) << r.model << std::setw(8) << r.status << std::right << std::setw(7) << std::fixed
         << std::setprecision(2) << r.seconds << " s" << std::setw(7) << std::setprecision(1)
         << static_cast<double>(r.size) / 1e6 << " MB" << "  " << std::left << std::setw(10) << r.precision << r.path << "\n";
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
  sub->add_flag("--json", a->json, "Print the table as JSON");
  return [a] { return run_rebuild(*a); };
}

}  // namespace kiln::cli
