#include "cli_output.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace kiln::cli {

void add_verbosity_flags(CLI::App& cmd, Verbosity& v) {
  CLI::Option* quiet = cmd.add_flag_callback(
      "-q,--quiet", [&v] { v = Verbosity::kQuiet; }, "print only results and errors (no notes, progress or per-item lines)");
  CLI::Option* verbose = cmd.add_flag_callback(
      "-v,--verbose", [&v] { v = Verbosity::kVerbose; }, "also print build phases, cache hits and timings");
  quiet->excludes(verbose);
}

void Messages::event(const std::string& kind, const std::string& text) {
  events_.push_back({{"event", kind}, {"message", text}});
  if (verbosity_ != Verbosity::kQuiet) std::cerr << "kiln " << command_ << ": " << kind << ": " << text << std::endl;
}

void Messages::detail(const std::string& text) const {
  if (verbosity_ == Verbosity::kVerbose) std::cerr << "kiln " << command_ << ": " << text << std::endl;
}

std::function<void(const std::string&)> Messages::build_progress() const {
  if (verbosity_ == Verbosity::kQuiet || (verbosity_ == Verbosity::kNormal && !::isatty(STDERR_FILENO))) return {};
  return [command = command_](const std::string& message) { std::cerr << "kiln " << command << ": " << message << std::endl; };
}

Progress::Progress(const Messages& messages, size_t total, std::string unit)
    : command_(messages.command()),
      unit_(std::move(unit)),
      total_(total),
      enabled_(messages.verbosity() != Verbosity::kQuiet && total > 1),
      terminal_(::isatty(STDERR_FILENO) == 1),
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
    if (done != total_ && std::chrono::duration<double>(now - last_line_).count() < kIntervalSeconds) return;
    last_line_ = now;
    std::fprintf(stderr, "kiln %s: %zu/%zu %s (%d%%), %.1f s\n", command_.c_str(), done, total_, unit_.c_str(), percent,
                 elapsed);
  }
  std::fflush(stderr);
}

}  // namespace kiln::cli
