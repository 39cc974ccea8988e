// Drawing a Prediction onto its image with Ultralytics' plotting conventions: boxes with
// "name 0.87" labels in per-class colors, masks blended under them, pose keypoints and
// skeletons, rotated box outlines, classification top-5 as text.
#pragma once

#include <string>
#include <vector>

#include "kiln/image.h"
#include "kiln/prediction.h"

namespace kiln {

// Ultralytics' line_width, hide_labels and hide_conf.
struct DrawStyle {
  int line_width = 0;       // 0: from the image size
  bool labels = true;       // false: boxes without class names
  bool confidence = true;   // false: class names without scores
};

// `names` by class id (ModelInfo::names); ids past its end are drawn as numbers.
void draw_prediction(Image& image, const Prediction& prediction, const std::vector<std::string>& names,
                     const DrawStyle& style = {});

}  // namespace kiln
