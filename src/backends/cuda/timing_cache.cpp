#include "backends/cuda/timing_cache.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kiln::cuda {

std::string TimingCache::default_path() {
  namespace fs = std::filesystem;
  fs::path dir;
  if (const char* d = std::getenv("KILN_CACHE_DIR"); d && *d) {
    dir = d;
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    dir = fs::path(h) / ".cache" / "kiln";
  } else {
    return "";
  }
  return (dir / "cuda_timing_cache.tsv").string();
}

TimingCache::TimingCache(std::string path) : path_(std::move(path)) {
  if (!path_.empty()) parse_into(path_, entries_);
}

void TimingCache::parse_into(const std::string& path, std::map<std::string, TunedChoice>& out) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> cols;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, '\t');) cols.push_back(c);
    if (cols.size() != 4 || cols[0].empty()) continue;
    TunedChoice t;
    char* end = nullptr;
    t.engine_id = std::strtoll(cols[1].c_str(), &end, 10);
    if (end == cols[1].c_str()) continue;
    std::stringstream ks(cols[2]);
    bool ok = true;
    for (std::string kv; std::getline(ks, kv, ',');) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos) {
        ok = false;
        break;
      }
      t.knobs.push_back({std::strtoll(kv.substr(0, eq).c_str(), nullptr, 10),
                         std::strtoll(kv.substr(eq + 1).c_str(), nullptr, 10)});
    }
    if (!ok) continue;
    t.ms = std::strtod(cols[3].c_str(), nullptr);
    out[cols[0]] = t;
  }
}

std::optional<TunedChoice> TimingCache::find(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void TimingCache::put(const std::string& key, const TunedChoice& choice) {
  entries_[key] = choice;
  added_[key] = choice;
}

Status TimingCache::save() {
  namespace fs = std::filesystem;
  if (path_.empty() || added_.empty()) return Status::Ok();
  std::error_code ec;
  fs::create_directories(fs::path(path_).parent_path(), ec);
  std::map<std::string, TunedChoice> merged;
  parse_into(path_, merged);
  for (const auto& [k, v] : added_) merged[k] = v;
  const std::string tmp = path_ + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return error(StatusCode::kIoError, "cannot write timing cache '", tmp, "'");
    for (const auto& [k, v] : merged) {
      f << k << '\t' << v.engine_id << '\t';
      for (size_t i = 0; i < v.knobs.size(); ++i) f << (i ? "," : "") << v.knobs[i].first << '=' << v.knobs[i].second;
      f << '\t' << v.ms << '\n';
    }
    if (!f.flush()) return error(StatusCode::kIoError, "cannot write timing cache '", tmp, "'");
  }
  fs::rename(tmp, path_, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return error(StatusCode::kIoError, "cannot replace timing cache '", path_, "'");
  }
  added_.clear();
  return Status::Ok();
}

}  // namespace kiln::cuda
