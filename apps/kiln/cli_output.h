// What the commands say besides their results: one-line notes on stderr (an engine built
// on first use or rebuilt, a CPU fallback, metadata taken from the file name), recorded
// for --json as well; --quiet / --verbose; and progress for long loops (a bar redrawn in
// place on a terminal, a line every few seconds when stderr is piped).
#pragma once

#include <chrono>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace kiln::cli {

enum class Verbosity { kQuiet, kNormal, kVerbose };

// --quiet and --verbose (mutually exclusive) on `cmd`, both written into `v`.
void add_verbosity_flags(CLI::App& cmd, Verbosity& v);

// "kiln <command>: <kind>: <text>" lines on stderr and the same events for --json.
class Messages {
 public:
  Messages(std::string command, Verbosity verbosity) : command_(std::move(command)), verbosity_(verbosity) {}

  // Something the user should know happened (built, rebuilt, fallback): printed unless
  // --quiet, always recorded as {"event": kind, "message": text}.
  void event(const std::string& kind, const std::string& text);
  // Details for --verbose only (phases, cache hits, timings); not recorded.
  void detail(const std::string& text) const;
  // The builder's phase messages: on stderr with --verbose or on a terminal; else silent.
  std::function<void(const std::string&)> build_progress() const;

  const nlohmann::json& events() const { return events_; }
  Verbosity verbosity() const { return verbosity_; }
  const std::string& command() const { return command_; }

 private:
  std::string command_;
  Verbosity verbosity_;
  nlohmann::json events_ = nlohmann::json::array();
};

// Progress of `total` items on stderr: a bar on a terminal; when stderr is not one, a line
// "kiln <command>: 37/128 images (29%), 12.0 s" at most every kIntervalSeconds and at the
// end. Silent under --quiet and for a single item.
class Progress {
 public:
  static constexpr double kIntervalSeconds = 5.0;
  Progress(const Messages& messages, size_t total, std::string unit);
  void update(size_t done);

 private:
  std::string command_, unit_;
  size_t total_;
  bool enabled_, terminal_;
  std::chrono::steady_clock::time_point start_, last_line_;
};

}  // namespace kiln::cli
