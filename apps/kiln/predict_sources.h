// What `kiln predict --source` names, expanded the way Ultralytics' LoadImagesAndVideos does:
// a file, a directory (its image and video files), or a glob ("dir/*.jpg", quoted). Paths
// sort by their full string; images come first, then videos.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln::cli {

struct PredictSources {
  std::vector<std::filesystem::path> images;
  std::vector<std::filesystem::path> videos;
};

Result<PredictSources> list_predict_sources(const std::string& source);

}  // namespace kiln::cli
