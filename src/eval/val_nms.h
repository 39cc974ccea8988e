// The NMS Ultralytics' val runs (non_max_suppression with multi_label=True): every class
// whose score passes conf makes its own candidate box, so one anchor can yield several
// detections of different classes. Predict keeps the best class only (vision/detect.h).
#pragma once

#include <span>
#include <vector>

#include "vision/nms.h"

namespace kiln::eval {

struct BoxPrediction {
  int anchor = 0;  // the output column, for task channels after the class scores
  int class_id = 0;
  float conf = 0.f;
  vision::BoxXyxy box{};  // model-input (letterbox) pixels, not clipped
};

struct ValNmsOptions {
  float conf = 0.001f;
  double iou = 0.7;
  int max_det = 300;
  int max_nms = 30000;
  float max_wh = 7680.f;
};

// `raw`: one image's [4 + num_classes + extra, num_anchors] output (cx, cy, w, h, class
// scores, then task channels, which the caller reads through BoxPrediction::anchor).
// Returns the kept predictions, best first.
std::vector<BoxPrediction> multi_label_nms(std::span<const float> raw, int num_anchors, int num_classes,
                                           const ValNmsOptions& options);

}  // namespace kiln::eval
