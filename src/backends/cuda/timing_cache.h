// Persistent record of tuned choices: key (GPU name, cuDNN version, layer signature) -> the
// winning engine id and knob values, its measured time, and cuDNN's serialized plan (its
// runtime-compiled kernel included); for MatMuls (signature naming the cuBLASLt version) the
// plan column holds the winning cublasLtMatmulAlgo_t's bytes. A build that finds its key here loads that plan
// (or, without one, builds the named engine) and times nothing. The file is plain text, one
// entry per line: key \t engine_id \t knob=value,... \t ms [\t base64 plan]. Unknown or
// malformed lines are ignored.
// An engine file carries the entries its build used (used_text()); loading it replays them
// through a recorded cache (TimingCache::recorded), where a missing or unloadable entry is an
// error rather than a reason to tune or compile.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/status.h"

namespace kiln::cuda {

struct TunedChoice {
  int64_t engine_id = 0;
  std::vector<std::pair<int64_t, int64_t>> knobs;  // (knob type, value)
  double ms = 0;
  std::vector<uint8_t> plan;  // serialized cuDNN execution plan; empty when none
};

// A cache's entries by key.
using TimingEntries = std::map<std::string, TunedChoice>;

class TimingCache {
 public:
  // Reads `path` (a missing file is an empty cache). An empty path keeps it in memory. A
  // file is parsed once per process while it is unchanged (same size and modification
  // time): the builds of a dynamic-size model, one per input size, share that snapshot.
  explicit TimingCache(std::string path);
  // The entries of a text in the file's form (used_text() of earlier builds).
  static std::shared_ptr<const TimingEntries> parse(std::string_view text);
  // A read-only cache of parsed recorded entries, shared by the builds that replay them
  // (an engine's batches): replay_only().
  static TimingCache recorded(std::shared_ptr<const TimingEntries> entries);

  // Marks a found entry as used by this build.
  std::optional<TunedChoice> find(const std::string& key);
  void put(const std::string& key, const TunedChoice& choice);
  // True for a recorded cache: what is not in it must not be tuned or compiled.
  bool replay_only() const { return replay_only_; }
  // The entries this build found or added, in the file's text form.
  std::string used_text() const;
  const TimingEntries& entries() const { return *base_; }
  // Merges new entries into the file (re-reading it first, so concurrent builders lose
  // nothing but their own duplicate keys) through a temp file and rename.
  Status save();
  const std::string& path() const { return path_; }

 private:
  using Entries = TimingEntries;
  static void parse_into(std::string_view text, Entries& out);
  static void parse_lines(std::string_view text, Entries& out);  // one thread's part of parse_into
  static std::string text(const Entries& entries);  // the file's form
  // The entries of the file at `path` as it is now, from the process's snapshot of it.
  static std::shared_ptr<const Entries> snapshot(const std::string& path);

  std::string path_;
  bool replay_only_ = false;
  std::shared_ptr<const Entries> base_;  // the file's (or the recording's) entries, shared
  Entries added_;                        // this build's, over base_
  Entries used_;
};

}  // namespace kiln::cuda
