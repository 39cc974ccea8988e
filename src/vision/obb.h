// Oriented-box (obb) postprocessing, as Ultralytics' OBBPredictor does it:
// non_max_suppression(rotated=True) = Fast-NMS with probabilistic IoU (ProbIoU, boxes as
// 2-D Gaussians), then centers and sizes scaled back like boxes (scale_boxes xywh=True).
#pragma once

#include <array>
#include <span>
#include <vector>

#include "vision/detect.h"

namespace kiln::vision {

struct RotatedBox {
  float cx = 0.f, cy = 0.f, w = 0.f, h = 0.f;
  float angle = 0.f;  // radians, as the model outputs it (Ultralytics does not regularize in predict)
};

// ProbIoU (metrics.batch_probiou) in float32: 1 - Hellinger distance of the boxes'
// Gaussians (covariance diag(w^2, h^2) / 12 rotated by the angle), eps = 1e-7.
float probiou(const RotatedBox& a, const RotatedBox& b);

// Fast-NMS (TorchNMS.fast_nms): sorted by descending score, a box is dropped when any
// higher-scoring box, kept or not, has probiou >= iou_threshold with it. Returns kept
// indices, best first. Classes must be separated by the caller (center offsets).
std::vector<int> nms_rotated(const std::vector<RotatedBox>& boxes, const std::vector<float>& scores,
                             double iou_threshold);

// ops.regularize_rboxes: the same box with its angle in [0, pi/2), width and height
// swapped where the angle moved by a quarter turn.
RotatedBox regularize_rbox(const RotatedBox& box);

// The four corners (ops.xywhr2xyxyxyxy order).
std::array<std::array<float, 2>, 4> rbox_corners(const RotatedBox& box);

struct ObbDetection {
  int class_id = 0;
  float confidence = 0.f;
  RotatedBox box;  // in original image pixels
};

// `raw` is [4 (cx, cy, w, h) + num_classes + 1 (angle), num_anchors].
std::vector<ObbDetection> decode_obb(std::span<const float> raw, int num_anchors, int num_classes,
                                     const NmsOptions& options, int input_h, int input_w, int orig_h, int orig_w);

}  // namespace kiln::vision
