#include "backends/cuda/timing_cache.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <sstream>

namespace kiln::cuda {
namespace {

// Plans are binary (UBJSON with a compiled kernel); base64 keeps the file one line per entry.
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string to_base64(const std::vector<uint8_t>& in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    const size_t n = std::min<size_t>(3, in.size() - i);
    uint32_t v = uint32_t{in[i]} << 16;
    if (n > 1) v |= uint32_t{in[i + 1]} << 8;
    if (n > 2) v |= in[i + 2];
    for (size_t k = 0; k < 4; ++k) out += k <= n ? kBase64[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

// False on any character outside the alphabet or a length that is not a multiple of 4.
bool from_base64(const std::string& in, std::vector<uint8_t>& out) {
  if (in.size() % 4) return false;
  out.clear();
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + k];
      const char* pos = c ? std::strchr(kBase64, c) : nullptr;
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        ++pad;
      } else if (!pos || pad) {
        return false;
      }
      v = (v << 6) | (pos ? static_cast<uint32_t>(pos - kBase64) : 0);
    }
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(v >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(v));
  }
  return true;
}

}  // namespace

namespace {

// What this process last read or wrote of each timing-cache file, valid while the file's
// size and modification time are the ones recorded.
struct Snapshot {
  uintmax_t size = 0;
  std::filesystem::file_time_type mtime;
  std::shared_ptr<const std::map<std::string, TunedChoice>> entries;
};
std::mutex snapshots_mu;
std::map<std::string, Snapshot> snapshots;

}  // namespace

std::shared_ptr<const TimingCache::Entries> TimingCache::snapshot(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return std::make_shared<const Entries>();  // no file yet: an empty cache
  const fs::file_time_type mtime = fs::last_write_time(path, ec);
  std::lock_guard<std::mutex> lock(snapshots_mu);
  Snapshot& s = snapshots[path];
  if (!s.entries || s.size != size || s.mtime != mtime) {
    auto entries = std::make_shared<Entries>();
    std::ifstream f(path);
    parse_into(f, *entries);
    s = {size, mtime, std::move(entries)};
  }
  return s.entries;
}

TimingCache::TimingCache(std::string path)
    : path_(std::move(path)), base_(path_.empty() ? std::make_shared<const Entries>() : snapshot(path_)) {}

TimingCache TimingCache::recorded(const std::string& text) {
  TimingCache c("");
  auto entries = std::make_shared<Entries>();
  std::istringstream in(text);
  parse_into(in, *entries);
  c.base_ = std::move(entries);
  c.replay_only_ = true;
  return c;
}

void TimingCache::parse_into(std::istream& in, Entries& out) {
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, '\t');) cols.push_back(c);
    if ((cols.size() != 4 && cols.size() != 5) || cols[0].empty()) continue;
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
    if (cols.size() == 5 && !from_base64(cols[4], t.plan)) t.plan.clear();
    out[cols[0]] = t;
  }
}

std::optional<TunedChoice> TimingCache::find(const std::string& key) {
  const TunedChoice* found = nullptr;
  if (auto it = added_.find(key); it != added_.end()) found = &it->second;
  else if (auto jt = base_->find(key); jt != base_->end()) found = &jt->second;
  if (!found) return std::nullopt;
  used_[key] = *found;
  return *found;
}

void TimingCache::put(const std::string& key, const TunedChoice& choice) {
  added_[key] = choice;
  used_[key] = choice;
}

void TimingCache::write(std::ostream& f, const Entries& entries) {
  for (const auto& [k, v] : entries) {
    f << k << '\t' << v.engine_id << '\t';
    for (size_t i = 0; i < v.knobs.size(); ++i) f << (i ? "," : "") << v.knobs[i].first << '=' << v.knobs[i].second;
    f << '\t' << v.ms;
    if (!v.plan.empty()) f << '\t' << to_base64(v.plan);
    f << '\n';
  }
}

std::string TimingCache::used_text() const {
  std::ostringstream os;
  write(os, used_);
  return os.str();
}

Status TimingCache::save() {
  namespace fs = std::filesystem;
  if (path_.empty() || added_.empty() || replay_only_) return Status::Ok();
  std::error_code ec;
  fs::create_directories(fs::path(path_).parent_path(), ec);
  auto merged = std::make_shared<Entries>(*snapshot(path_));  // re-read if another builder changed it
  for (const auto& [k, v] : added_) (*merged)[k] = v;
  const std::string tmp = path_ + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return error(StatusCode::kIoError, "cannot write timing cache '", tmp, "'");
    write(f, *merged);
    if (!f.flush()) return error(StatusCode::kIoError, "cannot write timing cache '", tmp, "'");
  }
  fs::rename(tmp, path_, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return error(StatusCode::kIoError, "cannot replace timing cache '", path_, "'");
  }
  added_.clear();
  // What was just written is the file's content: the next build in this process reads it
  // from memory, not from the file.
  Snapshot s{fs::file_size(path_, ec), fs::last_write_time(path_, ec), std::move(merged)};
  if (!ec) {
    std::lock_guard<std::mutex> lock(snapshots_mu);
    snapshots[path_] = std::move(s);
  }
  return Status::Ok();
}

}  // namespace kiln::cuda
