// What the commands say besides their results: one-line notes on stderr (an engine built
// on first use or rebuilt, a CPU fallback, metadata taken from the file name), recorded
// for --json as well; --quiet / --verbose; progress for long loops (a bar redrawn in place
// on a terminal, a line every few seconds when stderr is piped) and for engine builds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace kiln::cli {

enum class Verbosity { kQuiet, kNormal, kVerbose };

// --quiet and --verbose (mutually exclusive) on `cmd`, both written into `v`.
void add_verbosity_flags(CLI::App& cmd, Verbosity& v);

// Seconds between progress lines when stderr is piped: $KILN_PROGRESS_INTERVAL, else 5.
double progress_interval();

// "kiln <command>: <kind>: <text>" lines on stderr and the same events for --json.
class Messages {
 public:
  Messages(std::string command, Verbosity verbosity) : command_(std::move(command)), verbosity_(verbosity) {}

  // Something the user should know happened (built, rebuilt, fallback): printed unless
  // --quiet, always recorded as {"event": kind, "message": text}. Safe from several
  // threads (the videos of a .streams list).
  void event(const std::string& kind, const std::string& text);
  // The same, unless this very event was already recorded (a note due once per reason).
  void event_once(const std::string& kind, const std::string& text);
  // Details for --verbose only (phases, tactics, cache hits, timings); not recorded.
  void detail(const std::string& text) const;
  // --verbose: the tactics of an engine file's plans, one line per step when there are
  // few, else a count per tactic; a CPU engine says it has none to choose.
  void tactics(const std::filesystem::path& engine) const;

  const nlohmann::json& events() const { return events_; }
  Verbosity verbosity() const { return verbosity_; }
  const std::string& command() const { return command_; }

 private:
  void record(const std::string& kind, const std::string& text);  // under mutex_

  std::string command_;
  Verbosity verbosity_;
  std::mutex mutex_;
  nlohmann::json events_ = nlohmann::json::array();
};

// An engine build's progress as the builder reports it (engine::Progress: one message per
// phase, "importing ...", "planning batch 8", and counted steps "<what> <done>/<total> ...",
// e.g. calibration's "calibrating 37/512 images"). Under --verbose every phase is printed
// with the time since the build began and the phases' durations follow at the end; on a
// terminal each phase is printed; when stderr is piped a line says what the build is doing
// every progress_interval() seconds (a short build prints nothing). A counted step is
// printed at most once per interval, and at its last count. Nothing under --quiet.
class BuildProgress {
 public:
  explicit BuildProgress(const Messages& messages);
  ~BuildProgress();
  BuildProgress(const BuildProgress&) = delete;
  BuildProgress& operator=(const BuildProgress&) = delete;

  // The callback for ModelOptions::progress and the engine builder; valid while this
  // object lives; empty under --quiet.
  std::function<void(const std::string&)> hook();
  // The build is over: stops the periodic lines and, under --verbose, prints the phases'
  // durations. Safe to call when nothing was built.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  void on_message(const std::string& text);
  void print(const std::string& text, Clock::time_point now);  // mutex held
  void tick();

  std::string command_;
  Verbosity verbosity_;
  bool terminal_;
  double interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread ticker_;
  bool started_ = false, stopped_ = false;
  Clock::time_point start_, last_line_;
  std::string current_, last_printed_key_;
  std::vector<std::pair<std::string, double>> phases_;  // label, seconds since start when it began
};

// Progress of `total` items on stderr: a bar on a terminal; when stderr is not one, a line
// "kiln <command>: 37/128 images (29%), 12.0 s" at most every progress_interval() seconds
// and at the end. Silent under --quiet and for a single item.
class Progress {
 public:
  Progress(const Messages& messages, size_t total, std::string unit);
  void update(size_t done);

 private:
  std::string command_, unit_;
  size_t total_;
  bool enabled_, terminal_;
  double interval_;
  std::chrono::steady_clock::time_point start_, last_line_;
};

// Progress of a loop of unknown length (a live stream): the count and its rate, "kiln
// <command>: 1234 frames of rtsp://cam/live, 29.8 FPS, 41.4 s", redrawn in place on a
// terminal, else a line at most every progress_interval() seconds. Silent under --quiet
// or when not `enabled`.
class RateProgress {
 public:
  RateProgress(const Messages& messages, bool enabled, std::string unit);
  ~RateProgress();
  RateProgress(const RateProgress&) = delete;
  RateProgress& operator=(const RateProgress&) = delete;
  void update(size_t done);

 private:
  std::string command_, unit_;
  bool enabled_, terminal_, drawn_ = false;
  double interval_;
  std::chrono::steady_clock::time_point start_, last_line_;
};

}  // namespace kiln::cli
