// --save-crop: each detected object's crop written as Ultralytics' Results.save_crop does,
// to <dir>/<class name>/<stem>.jpg (then <stem>2.jpg, <stem>3.jpg, ... for further objects
// of that class), the box grown as save_one_box grows it (vision/crop.h).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kiln/image.h"
#include "kiln/prediction.h"
#include "kiln/status.h"

namespace kiln::cli {

Status save_crops(const Image& image, const Prediction& p, const std::vector<std::string>& names,
                  const std::filesystem::path& dir, const std::string& stem);

}  // namespace kiln::cli
