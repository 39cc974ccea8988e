// NMS-free (end2end) exports on the CPU: rows [x1 y1 x2 y2 score class extra...] (obb:
// cx cy w h score class angle) decoded as Ultralytics does for them: the first max_det
// rows with score > conf, then the class filter; boxes, masks (extra = mask
// coefficients), keypoints scaled to the original image like the NMS path's.
#pragma once

#include <span>

#include "api/loaded_model.h"
#include "vision/detect.h"
#include "vision/segment.h"

namespace kiln::api {

struct End2EndOutput {
  std::span<const float> rows;  // one image: count * channels
  int count = 0, channels = 0;
  vision::Prototypes protos;    // segment only
};

Status decode_end2end(const LoadedModel& m, const End2EndOutput& e, const vision::NmsOptions& nms, int input_h,
                      int input_w, int orig_h, int orig_w, Prediction& p);

}  // namespace kiln::api
