// The engine cache: a folder of engines keyed by SHA-256 of (model bytes, build options,
// environment fingerprint). File names say what each engine is and end with a short key
// ("yolo11n-fp16-640-b1-3f2a9c1d0b7e4a55.kiln"), so engines for different GPUs or options
// live side by side. A usable engine is read without any lock (so a read-only cache holding
// it works); concurrent builders of one key serialize on "<stem>-<key>.lock" (flock;
// removed by its holder, see FileLock); the engine is written to a temp file and renamed
// into place; each build appends a line to builds.log. Temp files whose writer is no longer
// running (or older than an hour) are removed on each access.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/build_options.h"
#include "engine/builder.h"
#include "engine/engine.h"
#include "engine/environment.h"
#include "kiln/status.h"

namespace kiln::engine {

// `flag` if set, else $KILN_CACHE_DIR, else `configured`, else $XDG_CACHE_HOME/kiln,
// else ~/.cache/kiln.
std::filesystem::path default_cache_dir(const std::string& flag, const std::optional<std::filesystem::path>& configured);

// Hex SHA-256 of the model's bytes, the canonical options and the fingerprint.
Result<std::string> cache_key(const std::filesystem::path& model, const BuildOptions& options, const Fingerprint& fp);

struct CacheEntry {
  std::filesystem::path path;
  uint64_t size = 0;
  double age_days = 0;              // since last built or used
  std::optional<EngineInfo> info;   // unset when unreadable
  std::string problem;              // why info is unset
};

struct CacheOutcome {
  std::filesystem::path path;
  bool built = false;                  // false: an existing engine was reused
  std::string reason;                  // when built: "first use", "forced", or why the old one was replaced
  std::optional<BuildReport> report;   // when built
};

class Cache {
 public:
  explicit Cache(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }

  // The engine for (model, options) in the current environment, building it under the
  // key's lock unless a valid one is there (or `force`).
  Result<CacheOutcome> get_or_build(const std::filesystem::path& model, const BuildOptions& options, bool force,
                                    const Progress& progress = {});
  // Engines in the cache, oldest use first.
  Result<std::vector<CacheEntry>> list() const;
  // Removes engines (and their lock files) unused for `older_than_days`, or all of them;
  // also temp files that killed writers left. Returns the removed engine paths.
  Result<std::vector<std::filesystem::path>> prune(std::optional<double> older_than_days);

 private:
  std::filesystem::path dir_;
};

}  // namespace kiln::engine
