// kiln predict's --json document, written as the results arrive so that memory stays flat
// over a folder of millions of images or a stream that runs for days:
//   {"<header key>": ..., "results": [
//   {one entry per line},
//   ...
//   ], "<trailer key>": ...}
// into a file through an AtomicFile (renamed into place by finish, removed on an error or
// an early return: nothing half-written), or onto stdout for "-".
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/spool.h"
#include "kiln/status.h"

namespace kiln::cli {

// The file an output flag names (--json, --mot), created beside its place before any
// result (a folder there is refused then, not after the run); none for an empty flag.
Result<std::optional<AtomicFile>> open_output_file(const std::string& path);

// check_output_path for each output flag given (not empty, not "-" for stdout): called
// before the model loads, which may build an engine for seconds or minutes.
Status check_output_flags(std::initializer_list<const std::string*> paths);

// Elements of one JSON array kept in an anonymous temp file instead of memory: a video's
// frames, until the video's entry is written.
class JsonSpool {
 public:
  static Result<JsonSpool> create();
  Status push(const nlohmann::json& element);

 private:
  friend class ResultsStream;
  explicit JsonSpool(Spool spool) : spool_(std::move(spool)) {}
  Spool spool_;
};

class ResultsStream {
 public:
  // json_out: a file, "-" for stdout, or "" for a stream that writes nothing.
  static Result<ResultsStream> open(const std::string& json_out, const nlohmann::json& header);

  Status add(const nlohmann::json& entry);
  // `entry` with the array `key` read back from `spool` (a video with its spooled frames).
  Status add(const nlohmann::json& entry, const std::string& key, JsonSpool& spool);
  // Closes "results", writes the trailer's keys and, for a file, moves it into place.
  Status finish(const nlohmann::json& trailer);

 private:
  ResultsStream(std::optional<AtomicFile> file, bool to_stdout) : file_(std::move(file)), stdout_(to_stdout) {}
  Status write(std::string_view text);
  Status begin_entry();

  std::optional<AtomicFile> file_;
  bool stdout_ = false;
  size_t entries_ = 0;
};

}  // namespace kiln::cli
