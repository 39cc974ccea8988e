#include "video/video_source.h"

extern "C" {
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <cctype>
#include <sstream>

#include "core/file_util.h"

namespace kiln::video {

namespace fs = std::filesystem;

namespace {

// Everything after "scheme://" with each character a file name cannot hold (or should not:
// ':' '?' '&' '=') replaced by '_': rtsp://cam:554/live?ch=1 -> cam_554_live_ch_1.
std::string stem_of(const std::string& locator) {
  const size_t scheme = locator.find("://");
  std::string s = scheme == std::string::npos ? locator : locator.substr(scheme + 3);
  while (!s.empty() && s.back() == '/') s.pop_back();
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  return s.empty() ? "stream" : s;
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// RTSP (rtsp://, rtsps://) is no avio protocol: FFmpeg's RTSP demuxer opens its own
// connections and claims such URLs when probed by name alone, as avformat_open_input does.
bool a_demuxer_opens(const std::string& url) {
  AVProbeData by_name{};
  by_name.filename = url.c_str();
  int score = 0;
  return av_probe_input_format2(&by_name, /*is_opened=*/0, &score) != nullptr;
}

bool is_number(const std::string& s) {
  return !s.empty() && s.size() <= 3 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

VideoSource file_source(const fs::path& path) {
  return {SourceKind::kFile, path.string(), path.filename().string(), path.stem().string()};
}

Result<std::optional<VideoSource>> classify_live_source(const std::string& text) {
  if (is_number(text) || text.rfind("/dev/video", 0) == 0) {
    const std::string device = is_number(text) ? "/dev/video" + std::to_string(std::stoi(text)) : text;
    return std::optional<VideoSource>(VideoSource{SourceKind::kCamera, device, device, fs::path(device).filename().string()});
  }
  const size_t scheme = text.find("://");
  if (scheme == std::string::npos || scheme == 0) return std::optional<VideoSource>();
  if (text.compare(0, scheme, "file") != 0 && !avio_find_protocol_name(text.c_str()) && !a_demuxer_opens(text)) {
    std::string names;
    void* it = nullptr;
    while (const char* p = avio_enum_protocols(&it, 0)) names += (names.empty() ? "" : ", ") + std::string(p);
    return error(StatusCode::kUnsupported, text, ": this FFmpeg cannot open ", text.substr(0, scheme),
                 ":// URLs (it has: ", names, ")");
  }
  return std::optional<VideoSource>(VideoSource{SourceKind::kUrl, text, text, stem_of(text)});
}

bool is_source_list(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".streams" || ext == ".txt";
}

Result<std::vector<std::string>> read_source_list(const fs::path& path) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path));
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  std::vector<std::string> sources;
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const bool relative_path = line.find("://") == std::string::npos && !is_number(line) && fs::path(line).is_relative();
    sources.push_back(relative_path ? (path.parent_path() / line).string() : line);
  }
  if (sources.empty()) return error(StatusCode::kInvalidArgument, path.string(), ": lists no sources (one per line, # comments)");
  return sources;
}

}  // namespace kiln::video
