// Detect-task postprocessing, as Ultralytics' non_max_suppression + scale_boxes do it.
// The candidate selection is shared: segment / pose / obb decoders (sibling files) pick
// their extra channels for the anchors it keeps.
#pragma once

#include <span>
#include <vector>

#include "vision/nms.h"

namespace kiln::vision {

struct NmsOptions {
  float conf = 0.25f;          // keep anchors whose best class score is > conf
  double iou = 0.7;            // suppress same-class boxes with IoU > iou
  int max_det = 300;
  int max_nms = 30000;         // boxes entering NMS at most
  float max_wh = 7680.f;       // class offset that keeps classes apart in one NMS
  bool agnostic = false;
  std::vector<int> classes;    // empty: all classes
};

// One kept anchor; box in model-input (letterbox) pixels.
struct Candidate {
  int anchor = 0;
  int class_id = 0;
  float score = 0.f;
  BoxXyxy box{};
};

// `raw` is one image's [4 + num_classes + extra, num_anchors] output (channel-major: cx,
// cy, w, h, then class scores already passed through sigmoid, then any task-specific
// channels). Returns the anchors whose best class passes the confidence and class
// filters, at most max_nms of them (the best), before any NMS: the rotated-box decoder
// runs its own NMS on these.
std::vector<Candidate> threshold_candidates(std::span<const float> raw, int num_anchors, int num_classes,
                                            const NmsOptions& options);

// threshold_candidates followed by class-aware NMS on the xyxy boxes: the candidates
// that survive, best first, at most max_det.
std::vector<Candidate> select_candidates(std::span<const float> raw, int num_anchors,
                                         int num_classes, const NmsOptions& options);

struct Detection {
  int class_id = 0;
  float confidence = 0.f;
  BoxXyxy box{};  // x1, y1, x2, y2 in original image pixels
};

// The letterbox geometry Ultralytics' scale_boxes infers from the two shapes:
// gain = min(input/orig), pads = round((input - round(orig * gain)) / 2 - 0.1).
struct LetterboxGeometry {
  double gain = 1.0;
  float pad_x = 0.f, pad_y = 0.f;
};
LetterboxGeometry letterbox_geometry(int input_h, int input_w, int orig_h, int orig_w);

// Maps a box from input_h x input_w (letterboxed) back to the orig_h x orig_w image and
// clips it (Ultralytics scale_boxes with ratio_pad=None).
BoxXyxy scale_box(const BoxXyxy& box, int input_h, int input_w, int orig_h, int orig_w);

// Detect models: candidates -> detections in original image pixels.
std::vector<Detection> decode_detect(std::span<const float> raw, int num_anchors, int num_classes,
                                     const NmsOptions& options, int input_h, int input_w, int orig_h,
                                     int orig_w);

}  // namespace kiln::vision
