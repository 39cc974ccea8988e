#include "engine/cache.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <sstream>

#include "core/file_util.h"
#include "core/json_text.h"
#include "engine/compatibility.h"
#include "engine/file_lock.h"
#include "engine/sha256.h"
#include "quant/calibrate.h"

namespace kiln::engine {

namespace fs = std::filesystem;

namespace {

constexpr size_t kShortKey = 16;
constexpr double kTempGraceDays = 1.0 / 24;  // a temp file younger than this may be a live write

double age_days(const fs::path& p) {
  std::error_code ec;
  auto t = fs::last_write_time(p, ec);
  if (ec) return 0;
  return std::chrono::duration<double>(fs::file_time_type::clock::now() - t).count() / 86400.0;
}

// "1" for a fixed batch, "1-4-8" for a min:opt:max profile.
std::string batch_label(const BatchProfile& b) {
  if (b.min == b.max) return std::to_string(b.min);
  return std::to_string(b.min) + "-" + std::to_string(b.opt) + "-" + std::to_string(b.max);
}

// The cached engine of a key, whatever its readable prefix ("<...>-<short key>.kiln").
std::optional<fs::path> find_by_key(const fs::path& dir, const std::string& short_key) {
  const std::string suffix = "-" + short_key + ".kiln";
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    const std::string n = de.path().filename().string();
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) return de.path();
  }
  return std::nullopt;
}

bool is_temp(const fs::path& p) { return p.filename().string().find(".kiln.tmp.") != std::string::npos; }

// A temp file nobody will finish: its writer (temp_file_owner) is no longer running on this
// machine, or it is older than the grace period (also for names without a pid).
bool is_abandoned_temp(const fs::path& p, double min_age_days) {
  if (!is_temp(p)) return false;
  const double age = age_days(p);
  if (age >= std::max(kTempGraceDays, min_age_days)) return true;
  const std::optional<pid_t> owner = temp_file_owner(p);
  return owner && *owner != ::getpid() && ::kill(*owner, 0) != 0 && errno == ESRCH && age >= min_age_days;
}

// Removes what killed builders left in `dir` (best effort: a read-only cache keeps them).
void remove_abandoned_temps(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (std::error_code rm_ec; is_abandoned_temp(it->path(), 0)) fs::remove(it->path(), rm_ec);
}

// Why the engine at `path` cannot be used as it is (empty when it can): unreadable, not
// right for `env`, or not signed with `key` when one is configured.
std::string unusable_reason(const fs::path& path, const Environment& env, const std::optional<SigningKey>& key) {
  auto info = inspect_engine(path, key ? &*key : nullptr);
  if (!info.ok()) return "unreadable (" + info.status().message() + ")";
  if (check_compatibility(*info, env).needs_rebuild()) return "incompatible";
  if (key && info->signature != SignatureState::kValid)
    return info->signature == SignatureState::kUnsigned ? "not signed" : "signed with another key";
  return "";
}

void append_build_log(const fs::path& dir, const std::string& line) {
  int fd = ::open((dir / "builds.log").c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;  // the log is informational; a build does not fail over it
  ssize_t n = ::write(fd, line.data(), line.size());
  (void)n;
  ::close(fd);
}

}  // namespace

fs::path default_cache_dir(const std::string& flag, const std::optional<fs::path>& configured) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("KILN_CACHE_DIR"); env && *env) return env;
  if (configured) return *configured;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "kiln";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : ".") / ".cache" / "kiln";
}

Result<std::string> cache_key(const fs::path& model, const BuildOptions& options, const Fingerprint& fp) {
  KILN_ASSIGN_OR_RETURN(std::string model_hash, sha256_file_hex(model));
  Sha256 h;
  h.update("kiln-cache-key-v1\n").update(model_hash).update("\n");
  h.update(json_text(to_json(options))).update("\n").update(json_text(to_json(fp)));
  // An INT8 engine holds calibrated ranges: one built before the calibration changed is stale.
  if (options.precision == Precision::kInt8)
    h.update("\ncalibration revision " + std::to_string(quant::kCalibrationRevision));
  return to_hex(h.finish());
}

Result<CacheOutcome> Cache::get_or_build(const fs::path& model, const BuildOptions& options, bool force,
                                         const Progress& progress) {
  KILN_RETURN_IF_ERROR(check_precision_for_device(options));
  KILN_ASSIGN_OR_RETURN(Environment env, detect_environment());
  KILN_ASSIGN_OR_RETURN(Fingerprint fp, fingerprint_for(env, options.device));
  KILN_ASSIGN_OR_RETURN(std::string key, cache_key(model, options, fp));
  const std::string short_key = key.substr(0, kShortKey);
  const std::string name = model.stem().string() + "-" + short_key;

  std::error_code ec;
  remove_abandoned_temps(dir_);
  fs::path engine_path = find_by_key(dir_, short_key).value_or(dir_ / (name + ".kiln"));
  // A usable engine is read without the lock, so a read-only cache that holds it works.
  if (!force && fs::exists(engine_path, ec) && unusable_reason(engine_path, env, options.signing_key).empty()) {
    fs::last_write_time(engine_path, fs::file_time_type::clock::now(), ec);  // marks it used, for prune; may fail
    return CacheOutcome{engine_path, false, "", std::nullopt};
  }
  fs::create_directories(dir_, ec);
  if (ec) return error(StatusCode::kIoError, dir_.string(), ": cannot create cache folder: ", ec.message());
  KILN_ASSIGN_OR_RETURN(FileLock lock, FileLock::acquire(dir_ / (name + ".lock"), [&] {
    if (progress) progress("waiting for another kiln building " + name);
  }));
  // Another process may have built it while we waited for the lock.
  engine_path = find_by_key(dir_, short_key).value_or(dir_ / (name + ".kiln"));
  std::string reason = force ? "forced" : "first use";
  if (!force && fs::exists(engine_path, ec)) {
    const std::string why = unusable_reason(engine_path, env, options.signing_key);
    if (why.empty()) return CacheOutcome{engine_path, false, "", std::nullopt};
    reason = "the cached engine was " + why;
    if (progress) progress("replacing " + engine_path.string() + ": " + reason);
  }
  BuildOptions build = options;  // tuned choices live beside the engines they made
  if (build.timing_cache.empty()) build.timing_cache = dir_ / "cuda_timing_cache.tsv";
  if (build.calibration_cache_dir.empty()) build.calibration_cache_dir = dir_;
  KILN_ASSIGN_OR_RETURN(BuildReport report, build_engine(model, build, engine_path, progress));
  // The name says what the engine is: <stem>-<precision>-<imgsz>-b<batch>-<key>.kiln.
  const fs::path readable = dir_ / (model.stem().string() + "-" + std::string(to_string(options.precision)) + "-" +
                                    std::to_string(report.metadata.model.imgsz_h) + "-b" + batch_label(options.batch) +
                                    "-" + short_key + ".kiln");
  if (readable != engine_path) {
    fs::rename(engine_path, readable, ec);
    if (ec) return error(StatusCode::kIoError, readable.string(), ": cannot rename the built engine: ", ec.message());
    engine_path = readable;
    report.path = readable;
  }
  std::ostringstream line;
  line << report.metadata.built_at << '\t' << key << '\t' << fs::absolute(model).string() << '\t'
       << report.metadata.build.build_seconds << 's' << '\n';
  append_build_log(dir_, line.str());
  return CacheOutcome{engine_path, true, std::move(reason), std::move(report)};
}

Result<std::vector<CacheEntry>> Cache::list() const {
  std::vector<CacheEntry> entries;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return entries;
  for (auto it = fs::directory_iterator(dir_, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& de = *it;
    std::error_code entry_ec;  // an engine pruned meanwhile is skipped, not thrown
    if (de.path().extension() != ".kiln" || !de.is_regular_file(entry_ec)) continue;
    const uint64_t size = de.file_size(entry_ec);
    if (entry_ec) continue;
    CacheEntry e{de.path(), size, age_days(de.path()), std::nullopt, ""};
    auto info = inspect_engine(de.path());
    if (info.ok()) e.info = std::move(info).value();
    else e.problem = info.status().message();
    entries.push_back(std::move(e));
  }
  if (ec) return error(StatusCode::kIoError, dir_.string(), ": cannot list: ", ec.message());
  std::sort(entries.begin(), entries.end(), [](const CacheEntry& a, const CacheEntry& b) { return a.age_days > b.age_days; });
  return entries;
}

Result<std::vector<fs::path>> Cache::prune(std::optional<double> older_than_days) {
  std::vector<fs::path> removed;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return removed;
  std::vector<fs::path> victims;
  for (auto it = fs::directory_iterator(dir_, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    double age = age_days(p);
    if (is_temp(p)) {
      if (is_abandoned_temp(p, older_than_days.value_or(0))) victims.push_back(p);
    } else if (p.extension() == ".kiln" && (!older_than_days || age >= *older_than_days)) {
      victims.push_back(p);
      removed.push_back(p);
    }
  }
  if (ec) return error(StatusCode::kIoError, dir_.string(), ": cannot list: ", ec.message());
  for (const fs::path& p : victims) {
    fs::remove(p, ec);
    if (ec) return error(StatusCode::kIoError, p.string(), ": cannot remove: ", ec.message());
    if (p.extension() == ".kiln") fs::remove(fs::path(p).replace_extension(".lock"), ec);
  }
  return removed;
}

}  // namespace kiln::engine
