// Pose-task postprocessing, as Ultralytics' PosePredictor does it: detect NMS, then each
// kept anchor's keypoints (x, y in input pixels, visibility already through sigmoid in
// the export) mapped back to the original image with ops.scale_coords.
#pragma once

#include <span>
#include <vector>

#include "vision/detect.h"

namespace kiln::vision {

struct Keypoint {
  float x = 0.f, y = 0.f;
  float confidence = 1.f;  // 1 when the model has 2-value keypoints
};

struct PoseDetection {
  Detection detection;              // box in original image pixels
  std::vector<Keypoint> keypoints;  // in original image pixels
};

// scale_coords: x -= (input_w - round(orig_w * gain)) / 2 (unrounded, unlike boxes),
// divided by the gain, clipped to [0, orig_w] x [0, orig_h].
Keypoint scale_keypoint(const Keypoint& k, int input_h, int input_w, int orig_h, int orig_w);

// `raw` is [4 + num_classes + num_keypoints * keypoint_dim, num_anchors], keypoint_dim
// 2 (x, y) or 3 (x, y, visibility).
std::vector<PoseDetection> decode_pose(std::span<const float> raw, int num_anchors, int num_classes,
                                       int num_keypoints, int keypoint_dim, const NmsOptions& options, int input_h,
                                       int input_w, int orig_h, int orig_w);

}  // namespace kiln::vision
