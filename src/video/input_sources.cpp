#include "video/input_sources.h"

#include <algorithm>
#include <map>
#include <optional>

#include "core/file_util.h"
#include "video/video_io.h"
#include "vision/image_io.h"

namespace kiln::video {

namespace fs = std::filesystem;

namespace {

Result<InputSources> list_one(const std::string& source) {
  KILN_ASSIGN_OR_RETURN(std::optional<VideoSource> live, classify_live_source(source));
  if (live) return InputSources{{}, {*live}};
  std::vector<fs::path> files;
  std::error_code ec;
  const bool pattern = source.find_first_of("*?[") != std::string::npos && !fs::exists(source, ec);
  if (pattern) {
    KILN_ASSIGN_OR_RETURN(files, expand_glob(source));
  } else if (fs::is_directory(source, ec)) {
    for (const auto& entry : fs::directory_iterator(source, ec))
      if (entry.is_regular_file()) files.push_back(entry.path());
    if (ec) return error(StatusCode::kIoError, source, ": cannot list: ", ec.message());
  } else if (fs::exists(source, ec)) {
    // One named file is taken at its word: a video by its extension, else an image (a
    // file that is neither fails to decode, naming itself).
    InputSources one;
    if (is_video_file(source))
      one.videos.push_back(file_source(source));
    else
      one.images.push_back(source);
    return one;
  } else {
    return error(StatusCode::kNotFound, source, ": no such file or directory");
  }
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) { return a.string() < b.string(); });
  InputSources found;
  for (const fs::path& f : files) {
    if (vision::has_image_extension(f)) found.images.push_back(f);
    else if (is_video_file(f)) found.videos.push_back(file_source(f));
  }
  if (found.images.empty() && found.videos.empty())
    return error(StatusCode::kNotFound, source, pattern ? ": no images or videos match" : ": no images (jpg, jpeg, png, bmp) or videos (mp4, avi, mkv, mov, ...) in directory");
  return found;
}

}  // namespace

Result<InputSources> list_input_sources(const std::string& source) {
  std::error_code ec;
  if (!is_source_list(source) || !fs::is_regular_file(source, ec)) return list_one(source);
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> entries, read_source_list(source));
  InputSources all;
  for (const std::string& entry : entries) {
    if (is_source_list(entry)) return error(StatusCode::kInvalidArgument, source, ": lists another list, ", entry);
    Result<InputSources> one = list_one(entry);
    if (!one.ok()) return error(one.status().code(), source, ": ", one.status().message());
    all.images.insert(all.images.end(), one->images.begin(), one->images.end());
    all.videos.insert(all.videos.end(), one->videos.begin(), one->videos.end());
  }
  std::map<std::string, int> stems;
  for (VideoSource& v : all.videos)
    if (int n = ++stems[v.stem]; n > 1) v.stem.append("_").append(std::to_string(n));
  all.together = true;
  return all;
}

}  // namespace kiln::video
