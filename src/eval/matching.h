// Matching predictions to ground truth at the ten COCO IoU thresholds, as Ultralytics'
// BaseValidator.match_predictions does it (the default, scipy-less greedy matching). The
// IoU matrix is an input, so boxes, masks, keypoints (OKS) and rotated boxes share it.
#pragma once

#include <array>
#include <span>
#include <vector>

#include "vision/nms.h"

namespace kiln::eval {

inline constexpr int kNumIouThresholds = 10;
using TpRow = std::array<bool, kNumIouThresholds>;  // a prediction is a TP at each threshold

// 0.5, 0.55, ..., 0.95 as float32 (torch.linspace(0.5, 0.95, 10)).
const std::array<float, kNumIouThresholds>& iou_thresholds();

// iou: row-major [labels x predictions]. At each threshold, the (label, prediction) pairs
// of the same class with IoU >= threshold are sorted by IoU, highest first; each
// prediction keeps its best pair, then each label keeps, of the pairs left, the one of the
// earliest prediction (lowest index, i.e. highest confidence after NMS).
std::vector<TpRow> match_predictions(std::span<const int> pred_classes, std::span<const int> true_classes,
                                     std::span<const float> iou);

// Pairwise IoU of boxes (x1, y1, x2, y2) in float32, as Ultralytics' box_iou
// (inter / (area1 + area2 - inter + 1e-7)). Row-major [a x b].
std::vector<float> box_iou_matrix(std::span<const vision::BoxXyxy> a, std::span<const vision::BoxXyxy> b);

}  // namespace kiln::eval
