// Drawing a Prediction onto its image with Ultralytics' plotting conventions: boxes with
// "name 0.87" labels in per-class colors, masks blended under them, pose keypoints and
// skeletons, rotated box outlines, classification top-5 as text.
#pragma once

#include <string>
#include <utility>
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

// A tracked object as `kiln track` draws it: its id ("id:3 person 0.87", as `yolo track`
// labels it) and its trail, the recent centers of its box, oldest first.
struct TrackMark {
  int track_id = 0;
  std::vector<std::pair<float, float>> trail;
};

// A frame of tracked objects: masks as draw_prediction, each trail as a line in its class
// color, then the boxes with their ids (keypoints are not drawn). `marks` has one entry
// per box of `prediction`.
void draw_tracked(Image& image, const Prediction& prediction, const std::vector<TrackMark>& marks,
                  const std::vector<std::string>& names);

}  // namespace kiln
