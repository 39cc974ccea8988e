#include "backends/cuda/timing_cache.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <sstream>
#include <string_view>

#include "core/file_util.h"
#include "core/parallel_for.h"

namespace kiln::cuda {
namespace {

// Plans are binary (UBJSON with a compiled kernel); base64 keeps the file one line per entry.
// An FP16 engine's plans are megabytes of it, decoded at every engine load: table lookups.
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> base64_values() {
  std::array<int8_t, 256> v{};
  v.fill(-1);
  for (int i = 0; i < 64; ++i) v[static_cast<uint8_t>(kBase64[i])] = static_cast<int8_t>(i);
  return v;
}
constexpr std::array<int8_t, 256> kBase64Values = base64_values();

std::string to_base64(const std::vector<uint8_t>& in) {
  std::string out((in.size() + 2) / 3 * 4, '=');
  char* o = out.data();
  for (size_t i = 0; i < in.size(); i += 3, o += 4) {
    const size_t n = std::min<size_t>(3, in.size() - i);
    uint32_t v = uint32_t{in[i]} << 16;
    if (n > 1) v |= uint32_t{in[i + 1]} << 8;
    if (n > 2) v |= in[i + 2];
    for (size_t k = 0; k <= n; ++k) o[k] = kBase64[(v >> (18 - 6 * k)) & 63];
  }
  return out;
}

// False on any character outside the alphabet, padding anywhere but at the end, or a length
// that is not a multiple of 4.
bool from_base64(std::string_view in, std::vector<uint8_t>& out) {
  out.clear();
  if (in.size() % 4) return false;
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
  out.resize(in.size() / 4 * 3 - pad);
  uint8_t* o = out.data();
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int8_t x = kBase64Values[static_cast<uint8_t>(in[i + k])];
      if (x < 0 && !(last && k >= 4 - pad)) return false;
      v = (v << 6) | static_cast<uint32_t>(x < 0 ? 0 : x);
    }
    const size_t n = last ? 3 - pad : 3;
    for (size_t k = 0; k < n; ++k) *o++ = static_cast<uint8_t>(v >> (16 - 8 * k));
  }
  return true;
}

// The fields of one line, split at tabs (views into the line).
std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  for (size_t begin = 0;;) {
    const size_t end = line.find(sep, begin);
    out.push_back(line.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin));
    if (end == std::string_view::npos) return out;
    begin = end + 1;
  }
}

// strtoll of a field (leading blanks and trailing text allowed, as the file has always been
// read); nullopt when no number starts it.
std::optional<int64_t> leading_int(std::string_view field) {
  const std::string text(field);
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  return end == text.c_str() ? std::nullopt : std::optional<int64_t>(v);
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
    if (auto text = read_file(path); text.ok())
      parse_into(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), *entries);
    s = {size, mtime, std::move(entries)};
  }
  return s.entries;
}

TimingCache::TimingCache(std::string path)
    : path_(std::move(path)), base_(path_.empty() ? std::make_shared<const Entries>() : snapshot(path_)) {}

std::shared_ptr<const TimingEntries> TimingCache::parse(std::string_view text) {
  auto entries = std::make_shared<Entries>();
  parse_into(text, *entries);
  return entries;
}

TimingCache TimingCache::recorded(std::shared_ptr<const TimingEntries> entries) {
  TimingCache c("");
  c.base_ = std::move(entries);
  c.replay_only_ = true;
  return c;
}

void TimingCache::parse_into(std::string_view text, Entries& out) {
  // A text of many plans (an engine's recorded ones: tens of MB of base64) in pieces of
  // whole lines side by side, merged in order so that a later line wins as in one pass.
  constexpr size_t kPieceBytes = size_t{1} << 20;
  std::vector<std::string_view> pieces;
  while (text.size() > kPieceBytes) {
    const size_t eol = text.find('\n', kPieceBytes);
    if (eol == std::string_view::npos) break;
    pieces.push_back(text.substr(0, eol + 1));
    text.remove_prefix(eol + 1);
  }
  pieces.push_back(text);
  if (pieces.size() == 1) return parse_lines(text, out);
  std::vector<Entries> parsed(pieces.size());
  core::parallel_for(pieces.size(), [&](size_t i) { parse_lines(pieces[i], parsed[i]); });
  for (Entries& piece : parsed)
    for (auto& [key, choice] : piece) out.insert_or_assign(key, std::move(choice));
}

void TimingCache::parse_lines(std::string_view text, Entries& out) {
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    const std::vector<std::string_view> cols = split(line, '\t');
    if ((cols.size() != 4 && cols.size() != 5) || cols[0].empty()) continue;
    TunedChoice t;
    const std::optional<int64_t> engine_id = leading_int(cols[1]);
    if (!engine_id) continue;
    t.engine_id = *engine_id;
    bool ok = true;
    std::vector<std::string_view> knobs = split(cols[2], ',');
    if (knobs.back().empty()) knobs.pop_back();  // "" or a trailing comma: nothing after it
    for (std::string_view kv : knobs) {
      const size_t eq = kv.find('=');
      if (eq == std::string_view::npos) {
        ok = false;
        break;
      }
      t.knobs.push_back({leading_int(kv.substr(0, eq)).value_or(0), leading_int(kv.substr(eq + 1)).value_or(0)});
    }
    if (!ok) continue;
    t.ms = std::strtod(std::string(cols[3]).c_str(), nullptr);
    if (cols.size() == 5 && !from_base64(cols[4], t.plan)) t.plan.clear();
    out[std::string(cols[0])] = std::move(t);
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

std::string TimingCache::text(const Entries& entries) {
  std::string out;
  size_t bytes = 0;
  for (const auto& [k, v] : entries) bytes += k.size() + 64 + 24 * v.knobs.size() + (v.plan.size() + 2) / 3 * 4;
  out.reserve(bytes);
  for (const auto& [k, v] : entries) {
    out += k;
    out += '\t';
    out += std::to_string(v.engine_id);
    out += '\t';
    for (size_t i = 0; i < v.knobs.size(); ++i) {
      if (i) out += ',';
      out += std::to_string(v.knobs[i].first);
      out += '=';
      out += std::to_string(v.knobs[i].second);
    }
    std::ostringstream ms;  // 6 significant digits, as the file has always had them
    ms << v.ms;
    out += '\t';
    out += ms.str();
    if (!v.plan.empty()) {
      out += '\t';
      out += to_base64(v.plan);
    }
    out += '\n';
  }
  return out;
}

std::string TimingCache::used_text() const { return text(used_); }

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
    f << text(*merged);
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
