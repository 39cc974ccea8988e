// What Model::predict returns for one image: one struct for every task, each task filling
// its own fields (detect: boxes; segment: boxes + masks; pose: boxes + keypoints; obb: obb;
// classify: top5). Coordinates are in the original image's pixels.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln {

struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

struct Detection {
  int class_id = 0;
  float confidence = 0;
  Box box;
};

// One instance mask per detection (same order as boxes), at the original image size.
struct Mask {
  int width = 0, height = 0;
  std::vector<uint8_t> data;  // height * width, 1 inside the instance, 0 outside
};

struct Keypoint {
  float x = 0, y = 0;
  float confidence = 0;  // 1 when the model predicts no visibility channel
};

// The keypoints of one detection (same order as boxes), kpt_shape[0] of them.
struct Keypoints {
  std::vector<Keypoint> points;
};

// Rotated box: center, size, and rotation in radians (Ultralytics' xywhr).
struct RotatedBox {
  int class_id = 0;
  float confidence = 0;
  float cx = 0, cy = 0, w = 0, h = 0, angle = 0;
};

struct ClassScore {
  int class_id = 0;
  float score = 0;
};

struct Speed {
  double preprocess_ms = 0, inference_ms = 0, postprocess_ms = 0;  // per image
};

struct Prediction {
  std::vector<Detection> boxes;       // detect, segment, pose
  std::vector<Mask> masks;            // segment
  std::vector<Keypoints> keypoints;   // pose
  std::vector<RotatedBox> obb;        // obb
  std::vector<ClassScore> top5;       // classify, best first
  int input_width = 0, input_height = 0;  // the letterboxed input the model saw
  Speed speed;
};

}  // namespace kiln
