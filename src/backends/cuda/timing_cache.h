// Persistent record of tuned choices: key (GPU name, cuDNN version, layer signature) -> the
// winning engine id and knob values, its measured time, and cuDNN's serialized plan (its
// runtime-compiled kernel included); for MatMuls (signature naming the cuBLASLt version) the
// plan column holds the winning cublasLtMatmulAlgo_t's bytes. A build that finds its key here loads that plan
// (or, without one, builds the named engine) and times nothing. The file is plain text, one
// entry per line: key \t engine_id \t knob=value,... \t ms [\t base64 plan]. Unknown or
// malformed lines are ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln::cuda {

struct TunedChoice {
  int64_t engine_id = 0;
  std::vector<std::pair<int64_t, int64_t>> knobs;  // (knob type, value)
  double ms = 0;
  std::vector<uint8_t> plan;  // serialized cuDNN execution plan; empty when none
};

class TimingCache {
 public:
  // The default file: $KILN_CACHE_DIR/cuda_timing_cache.tsv, else ~/.cache/kiln/... .
  static std::string default_path();
  // Reads `path` (a missing file is an empty cache). An empty path disables the file.
  explicit TimingCache(std::string path);

  std::optional<TunedChoice> find(const std::string& key) const;
  void put(const std::string& key, const TunedChoice& choice);
  // Merges new entries into the file (re-reading it first, so concurrent builders lose
  // nothing but their own duplicate keys) through a temp file and rename.
  Status save();
  const std::string& path() const { return path_; }

 private:
  static void parse_into(const std::string& path, std::map<std::string, TunedChoice>& out);

  std::string path_;
  std::map<std::string, TunedChoice> entries_;
  std::map<std::string, TunedChoice> added_;
};

}  // namespace kiln::cuda
