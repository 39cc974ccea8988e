// Object keypoint similarity (OKS), the IoU of pose matching, as Ultralytics' kpt_iou:
// per keypoint exp(-d^2 / (2 * (2 sigma)^2 * area)), averaged over the labelled keypoints,
// with area = 0.53 * the ground-truth box's area (xtcocotools' convention).
#pragma once

#include <span>
#include <vector>

#include "vision/nms.h"

namespace kiln::eval {

// The 17 COCO person keypoint sigmas; other layouts use 1 / num_keypoints each.
std::vector<float> keypoint_sigmas(int num_keypoints);

// gt: num_gt x num_keypoints x 3 (x, y, visibility; 0 = not labelled) in pixels;
// gt_boxes: their boxes (for the area); pred: num_pred x num_keypoints x pred_dims (x, y
// first). Returns row-major [num_gt x num_pred] OKS in float32.
std::vector<float> oks_matrix(std::span<const float> gt, std::span<const vision::BoxXyxy> gt_boxes,
                              std::span<const float> pred, int num_keypoints, int pred_dims,
                              std::span<const float> sigmas);

}  // namespace kiln::eval
