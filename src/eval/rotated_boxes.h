// Oriented boxes for OBB val, as Ultralytics' OBBValidator: ground-truth quadrilaterals to
// (cx, cy, w, h, angle) through the minimum-area rectangle (ops.xyxyxyxy2xywhr, which
// calls cv2.minAreaRect), multi-label rotated NMS (non_max_suppression(rotated=True)) and
// the ProbIoU matrix that matching takes as its IoU.
#pragma once

#include <array>
#include <span>
#include <vector>

#include "eval/val_nms.h"
#include "vision/obb.h"

namespace kiln::eval {

// The smallest-area rectangle holding the points (one side lies on an edge of their convex
// hull), with xyxyxyxy2xywhr's conventions: w >= h, angle in [-pi/4, 3pi/4).
vision::RotatedBox min_area_rect(std::span<const std::array<float, 2>> points);

struct RotatedPrediction {
  int class_id = 0;
  float conf = 0.f;
  vision::RotatedBox box{};  // model-input (letterbox) pixels
};

// `raw`: one image's [4 (cx, cy, w, h) + num_classes + 1 (angle), num_anchors] output.
// Every class score above conf is a candidate (multi-label); classes are kept apart by
// offsetting centers by class * max_wh; Fast-NMS with ProbIoU. Returns the kept boxes,
// best first.
std::vector<RotatedPrediction> multi_label_nms_rotated(std::span<const float> raw, int num_anchors, int num_classes,
                                                       const ValNmsOptions& options);

// Row-major [a x b] ProbIoU (metrics.batch_probiou).
std::vector<float> probiou_matrix(std::span<const vision::RotatedBox> a, std::span<const vision::RotatedBox> b);

}  // namespace kiln::eval
