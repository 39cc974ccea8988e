// What `kiln predict --source` names, expanded the way Ultralytics' LoadImagesAndVideos and
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

namespace kiln::cli {

struct PredictSources {
  std::vector<std::filesystem::path> images;
  std::vector<video::VideoSource> videos;  // files, URLs and cameras
  bool together = false;  // a list: its videos run at the same time (streams never end by themselves)
};

Result<PredictSources> list_predict_sources(const std::string& source);

}  // namespace kiln::cli
