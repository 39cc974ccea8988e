// What a video source string names: a file, a URL that FFmpeg opens (rtsp://, rtmp://,
// http(s)://, tcp://, udp://, srt://, ...), or a V4L2 camera ("0" or /dev/video0); and
// the lists of sources (.streams / .txt files) that run together. Classification only:
// video_io.h opens them, source_reader.h reads them with reconnects.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln::video {

enum class SourceKind { kFile, kUrl, kCamera };

struct VideoSource {
  SourceKind kind = SourceKind::kFile;
  std::string locator;  // the file's path, the URL, or the camera's device (/dev/video0)
  std::string name;     // what lines, errors and the JSON call it: a file's name, else the locator
  std::string stem;     // what saved files are named after (no '/' or ':')

  bool live() const { return kind != SourceKind::kFile; }
};

VideoSource file_source(const std::filesystem::path& path);

// A URL ("scheme://...") or a camera (a number N -> /dev/videoN, or /dev/video*); nullopt
// for anything else (a path on disk, a glob). A URL whose scheme this FFmpeg cannot open
// is refused naming the protocols it has.
Result<std::optional<VideoSource>> classify_live_source(const std::string& text);

// True for the extensions that list sources: .streams and .txt (any case).
bool is_source_list(const std::filesystem::path& path);

// The sources a list names, one per line; blank lines and lines starting with '#' are
// skipped, surrounding spaces trimmed. A relative path is taken relative to the list's
// folder. An empty list is InvalidArgument naming the file.
Result<std::vector<std::string>> read_source_list(const std::filesystem::path& path);

}  // namespace kiln::video
