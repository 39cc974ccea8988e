#include "cli_output.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "engine/engine.h"

namespace kiln::cli {

namespace {

constexpr double kDefaultIntervalSeconds = 5.0;
// Plans with at most this many steps list each step's tactic under --verbose; larger ones
// a count per tactic.
constexpr size_t kMaxListedSteps = 16;

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

// A counted step's "<done>/<total>" word: the message without it (the step's key) and
// whether this is its last count; nullopt for a plain phase message.
struct Counted {
  std::string key;
  bool last = false;
};
std::optional<Counted> counted_step(const std::string& text) {
  std::istringstream words(text);
  std::string word, key;
  std::optional<Counted> out;
  while (words >> word) {
    const size_t slash = word.find('/');
    unsigned long long done = 0, total = 0;
    char tail = 0;
    if (!out && slash != std::string::npos &&
        std::sscanf(word.c_str(), "%llu/%llu%c", &done, &total, &tail) == 2 && total > 0) {
      out = Counted{"", done >= total};
      word = "#";
    }
    key += (key.empty() ? "" : " ") + word;
  }
  if (out) out->key = key;
  return out;
}

// "planning batch 8" -> "planning batch 8"; "importing /a/b.onnx" -> "importing";
// "calibrating 37/512 images" -> "calibrating": the phase a message starts.
std::string phase_label(const std::string& text) {
  std::istringstream words(text);
  std::string first, second, third;
  words >> first >> second >> third;
  return second == "batch" ? first + " batch " + third : first;
}

}  // namespace

void add_verbosity_flags(CLI::App& cmd, Verbosity& v) {
  CLI::Option* quiet = cmd.add_flag_callback(
      "-q,--quiet", [&v] { v = Verbosity::kQuiet; }, "print only results and errors (no notes, progress or per-item lines)");
  CLI::Option* verbose = cmd.add_flag_callback(
      "-v,--verbose", [&v] { v = Verbosity::kVerbose; },
      "also print build phases with their times, tactics, engine cache hits and misses, and per-image "
      "preprocess / inference / postprocess times");
  quiet->excludes(verbose);
}

double progress_interval() {
  if (const char* env = std::getenv("KILN_PROGRESS_INTERVAL")) {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (end != env && *end == '\0' && v > 0) return v;
  }
  return kDefaultIntervalSeconds;
}

void Messages::event(const std::string& kind, const std::string& text) {
  std::lock_guard<std::mutex> lock(mutex_);
  record(kind, text);
}

void Messages::event_once(const std::string& kind, const std::string& text) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const nlohmann::json& e : events_)
    if (e["event"] == kind && e["message"] == text) return;
  record(kind, text);
}

void Messages::record(const std::string& kind, const std::string& text) {
  events_.push_back({{"event", kind}, {"message", text}});
  if (verbosity_ != Verbosity::kQuiet) std::cerr << "kiln " << command_ << ": " << kind << ": " << text << std::endl;
}

void Messages::detail(const std::string& text) const {
  if (verbosity_ == Verbosity::kVerbose) std::cerr << "kiln " << command_ << ": " << text << std::endl;
}

void Messages::tactics(const std::filesystem::path& engine) const {
  if (verbosity_ != Verbosity::kVerbose) return;
  Result<engine::EngineInfo> info = engine::inspect_engine(engine);
  if (!info.ok()) return detail("tactics: unknown (" + info.status().message() + ")");
  const engine::EnginePlans& plans = info->plans;
  if (plans.prepared.empty())
    return detail(info->metadata.build.device.is_cuda() ? "tactics: none recorded (the engine has no CUDA plans)"
                                                        : "tactics: none to choose (CPU engine: one reference kernel per op)");
  const engine::PreparedPlan& first = plans.prepared.front();
  const std::string batch = "batch " + std::to_string(first.input.empty() ? 0 : first.input[0]);
  if (first.steps.size() <= kMaxListedSteps) {
    for (const engine::PlanStep& s : first.steps) detail("tactic (" + batch + ") " + s.name + ": " + s.tactic);
    return;
  }
  std::map<std::string, int> counts;
  for (const engine::PlanStep& s : first.steps) ++counts[s.tactic.substr(0, s.tactic.find(':'))];
  std::string line;
  for (const auto& [tactic, n] : counts) line += (line.empty() ? "" : ", ") + tactic + " x" + std::to_string(n);
  detail("tactics (" + batch + ", " + std::to_string(first.steps.size()) + " steps): " + line + " (kiln info " +
         engine.string() + " lists each step)");
}

BuildProgress::BuildProgress(const Messages& messages)
    : command_(messages.command()),
      verbosity_(messages.verbosity()),
      terminal_(::isatty(STDERR_FILENO) == 1),
      interval_(progress_interval()) {}

BuildProgress::~BuildProgress() { finish(); }

std::function<void(const std::string&)> BuildProgress::hook() {
  if (verbosity_ == Verbosity::kQuiet) return {};
  return [this](const std::string& text) { on_message(text); };
}

void BuildProgress::print(const std::string& text, Clock::time_point now) {
  const double at = std::chrono::duration<double>(now - start_).count();
  std::fprintf(stderr, "kiln %s: %s (at %s)\n", command_.c_str(), text.c_str(), seconds_text(at).c_str());
  std::fflush(stderr);
  last_line_ = now;
}

void BuildProgress::on_message(const std::string& text) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopped_) return;
  const Clock::time_point now = Clock::now();
  if (!started_) {
    started_ = true;
    start_ = last_line_ = now;
    if (!terminal_) ticker_ = std::thread([this] { tick(); });
  }
  current_ = text;
  const std::string label = phase_label(text);
  if (phases_.empty() || phases_.back().first != label)
    phases_.emplace_back(label, std::chrono::duration<double>(now - start_).count());
  // Piped without --verbose: only the ticker speaks.
  if (!terminal_ && verbosity_ != Verbosity::kVerbose) return;
  const std::optional<Counted> counted = counted_step(text);
  const std::string key = counted ? counted->key : text;
  const bool repeat = key == last_printed_key_;
  last_printed_key_ = key;
  if (repeat && !(counted && counted->last) && std::chrono::duration<double>(now - last_line_).count() < interval_) return;
  print(text, now);
}

void BuildProgress::tick() {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_));
  while (!stopped_) {
    // A line printed meanwhile (a phase, a tick) moves the next tick on.
    wake_.wait_until(lock, last_line_ + interval);
    if (stopped_) break;
    const Clock::time_point now = Clock::now();
    if (now >= last_line_ + interval) print(current_, now);
  }
}

void BuildProgress::finish() {
  std::thread ticker;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    ticker = std::move(ticker_);
  }
  wake_.notify_all();
  if (ticker.joinable()) ticker.join();
  if (verbosity_ != Verbosity::kVerbose || phases_.empty()) return;
  const double end = std::chrono::duration<double>(Clock::now() - start_).count();
  std::string line;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const double until = i + 1 < phases_.size() ? phases_[i + 1].second : end;
    line += (line.empty() ? "" : ", ") + phases_[i].first + " " + seconds_text(until - phases_[i].second);
  }
  std::fprintf(stderr, "kiln %s: build phases: %s (%s in all)\n", command_.c_str(), line.c_str(), seconds_text(end).c_str());
  std::fflush(stderr);
}

Progress::Progress(const Messages& messages, size_t total, std::string unit)
    : command_(messages.command()),
      unit_(std::move(unit)),
      total_(total),
      enabled_(messages.verbosity() != Verbosity::kQuiet && total > 1),
      terminal_(::isatty(STDERR_FILENO) == 1),
      interval_(progress_interval()),
      start_(std::chrono::steady_clock::now()),
      last_line_(start_) {}

void Progress::update(size_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int percent = static_cast<int>(100 * done / total_);
  if (terminal_) {
    constexpr size_t kWidth = 30;
    const size_t filled = kWidth * done / total_;
    std::fprintf(stderr, "\r%s %zu/%zu [%s%s] %3d%% %.1fs", command_.c_str(), done, total_,
                 std::string(filled, '=').c_str(), std::string(kWidth - filled, ' ').c_str(), percent, elapsed);
    if (done == total_) std::fprintf(stderr, "\n");
  } else {
    if (done != total_ && std::chrono::duration<double>(now - last_line_).count() < interval_) return;
    last_line_ = now;
    std::fprintf(stderr, "kiln %s: %zu/%zu %s (%d%%), %.1f s\n", command_.c_str(), done, total_, unit_.c_str(), percent,
                 elapsed);
  }
  std::fflush(stderr);
}

RateProgress::RateProgress(const Messages& messages, bool enabled, std::string unit)
    : command_(messages.command()),
      unit_(std::move(unit)),
      enabled_(enabled && messages.verbosity() != Verbosity::kQuiet),
      terminal_(::isatty(STDERR_FILENO) == 1),
      interval_(progress_interval()),
      start_(std::chrono::steady_clock::now()),
      last_line_(start_) {}

RateProgress::~RateProgress() {
  if (drawn_ && terminal_) std::fprintf(stderr, "\n");
}

void RateProgress::update(size_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  if (terminal_) {
    std::fprintf(stderr, "\r%s %zu %s, %.1f FPS, %.1fs", command_.c_str(), done, unit_.c_str(), rate, elapsed);
  } else {
    if (std::chrono::duration<double>(now - last_line_).count() < interval_) return;
    last_line_ = now;
    std::fprintf(stderr, "kiln %s: %zu %s, %.1f FPS, %.1f s\n", command_.c_str(), done, unit_.c_str(), rate, elapsed);
  }
  drawn_ = true;
  std::fflush(stderr);
}

}  // namespace kiln::cli
