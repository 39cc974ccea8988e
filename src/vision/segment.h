// Segment-task postprocessing, as Ultralytics' SegmentationPredictor does it with
// retina_masks=False: detect NMS, then per kept box mask = coefficients x prototypes,
// cropped to the box at prototype resolution, bilinearly upsampled to the model input
// (letterboxed) size, thresholded at 0.5 (logit > 0) (ops.process_mask).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vision/detect.h"

namespace kiln::vision {

// A binary mask, row-major, 0 or 1 per pixel.
struct Mask {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;

  int area() const;
};

struct SegmentDetection {
  Detection detection;  // box in original image pixels
  Mask mask;            // at the model input (letterboxed) resolution, as Ultralytics' masks.data
};

// Prototypes of one image: [channels, height, width] (the model's second output).
struct Prototypes {
  std::span<const float> data;
  int channels = 0, height = 0, width = 0;
};

// Zeroes everything outside `box` (prototype pixels): rows < y1 or >= y2, columns < x1
// or >= x2, the box corners clamped at 0 and rounded half to even (ops.crop_mask).
void crop_mask(std::span<float> logits, int height, int width, const BoxXyxy& box);

// torch.nn.functional.interpolate(mode="bilinear", align_corners=False) of one plane.
std::vector<float> resize_bilinear(std::span<const float> src, int src_h, int src_w, int dst_h, int dst_w);

// One detection's mask at input_h x input_w from its coefficients and its box in input
// pixels (ops.process_mask with upsample=True).
Mask process_mask(const Prototypes& protos, std::span<const float> coefficients, const BoxXyxy& input_box,
                  int input_h, int input_w);

// `raw` is [4 + num_classes + protos.channels, num_anchors]. Detections whose mask is
// empty are dropped, as the predictor does.
std::vector<SegmentDetection> decode_segment(std::span<const float> raw, int num_anchors, int num_classes,
                                             const Prototypes& protos, const NmsOptions& options, int input_h,
                                             int input_w, int orig_h, int orig_w);

// A mask at the letterboxed input resolution mapped onto the orig_h x orig_w image:
// padding removed, bilinear resize, > 0.5 (ops.scale_masks).
Mask mask_to_image(const Mask& input_mask, int orig_h, int orig_w);

}  // namespace kiln::vision
