// kiln cache ls [--json] | kiln cache prune [--all | --older-than DAYS]  [--cache-dir D]
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.h"
#include "core/json_text.h"
#include "engine/cache.h"
#include "option_flags.h"

namespace kiln::cli {
namespace {

using nlohmann::json;

struct CacheArgs {
  std::string cache_dir;
  bool json = false, all = false;
  std::optional<double> older_than;
  CLI::App* ls = nullptr;
  CLI::App* prune = nullptr;
};

int run_ls(const engine::Cache& cache, bool as_json) {
  auto entries = cache.list();
  if (!entries.ok()) return report_error("cache", entries.status());
  json j = json::array();
  for (const auto& e : *entries) {
    json r{{"engine", e.path.string()}, {"size", e.size}, {"age_days", e.age_days}};
    if (e.info) {
      const auto& m = e.info->metadata;
      r.update({{"model", m.model.source_path}, {"device", m.build.device.to_string()}, {"gpu", m.environment.gpu_name},
                {"precision", to_string(m.build.precision)}, {"batch", m.build.batch.to_string()},
                {"imgsz", {m.model.imgsz_h, m.model.imgsz_w}}, {"built_at", m.built_at}});
    } else {
      r["problem"] = e.problem;
    }
    j.push_back(r);
  }
  if (as_json) {
    std::cout << json_text(j, 2) << std::endl;
    return kExitOk;
  }
  std::cout << cache.dir().string() << ": " << entries->size() << " engine(s)\n";
  for (const auto& e : *entries) {
    std::cout << "  " << e.path.filename().string() << "  " << std::fixed << std::setprecision(1)
              << static_cast<double>(e.size) / 1e6 << " MB  " << std::setprecision(1) << e.age_days << " d  ";
    if (e.info) {
      const auto& m = e.info->metadata;
      std::cout << m.build.device.to_string() << (m.environment.gpu_name.empty() ? "" : " (" + m.environment.gpu_name + ")")
                << " " << to_string(m.build.precision) << " imgsz " << m.model.imgsz_h << "x" << m.model.imgsz_w
                << " batch " << m.build.batch.to_string() << "  " << m.model.source_path << "\n";
    } else
      std::cout << "unreadable: " << e.problem << "\n";
  }
  std::cout << std::flush;
  return kExitOk;
}

int run_cache(const CacheArgs& a) {
  engine::Cache cache(engine::default_cache_dir(a.cache_dir, std::nullopt));
  if (a.ls->parsed()) return run_ls(cache, a.json);
  if (a.all == a.older_than.has_value())
    return report_error("cache", error(StatusCode::kInvalidArgument, "prune needs exactly one of --all or --older-than DAYS"));
  auto removed = cache.prune(a.all ? std::nullopt : a.older_than);
  if (!removed.ok()) return report_error("cache", removed.status());
  if (a.json) {
    json j = json::array();
    for (const auto& p : *removed) j.push_back(p.string());
    std::cout << json_text(json{{"cache_dir", cache.dir().string()}, {"removed", j}}, 2) << std::endl;
    return kExitOk;
  }
  for (const auto& p : *removed) std::cout << "removed " << p.string() << "\n";
  std::cout << removed->size() << " engine(s) removed from " << cache.dir().string() << std::endl;
  return kExitOk;
}

}  // namespace

Runner register_cache(CLI::App& app) {
  auto a = std::make_shared<CacheArgs>();
  CLI::App* sub = app.add_subcommand("cache", "List or prune the engine cache");
  sub->require_subcommand(1);
  sub->add_option("--cache-dir", a->cache_dir, "Engine cache (default $KILN_CACHE_DIR or ~/.cache/kiln)");
  a->ls = sub->add_subcommand("ls", "List cached engines");
  a->ls->add_flag("--json", a->json, "Print as JSON");
  a->ls->add_option("--cache-dir", a->cache_dir, "Engine cache");
  a->prune = sub->add_subcommand("prune", "Remove cached engines");
  a->prune->add_flag("--all", a->all, "Remove every engine");
  a->prune->add_option("--older-than", a->older_than, "Remove engines unused for this many days")
      ->check(number_in(0, 36500));
  a->prune->add_option("--cache-dir", a->cache_dir, "Engine cache");
  a->prune->add_flag("--json", a->json, "Print the removed engines as JSON");
  return [a] { return run_cache(*a); };
}

}  // namespace kiln::cli
