// What a predict source names (kiln predict / track / pipeline --source, the Python
// package's predict(source)), expanded the way Ultralytics' LoadImagesAndVideos and
// LoadStreams do: a file, a directory (its image and video files), a glob ("dir/*.jpg",
// quoted), a URL or camera (video/video_source.h), or a .streams / .txt list of any of
// these. Paths sort by their full string; images come first, then videos and streams (a
// list keeps its order; two of its videos with the same stem get _2, _3, ... so their
// saved files stay apart).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kiln/status.h"
#include "video/video_source.h"

namespace kiln::video {

struct InputSources {
  std::vector<std::filesystem::path> images;
  std::vector<VideoSource> videos;  // files, URLs and cameras
  bool together = false;  // a list: its videos run at the same time (streams never end by themselves)
};

Result<InputSources> list_input_sources(const std::string& source);

}  // namespace kiln::video
