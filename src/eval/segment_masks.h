// Masks for segment val, as Ultralytics' SegmentationValidator (overlap_mask=True,
// mask_ratio=4) compares them: at the prototype resolution (a quarter of the input).
// Ground truth: each polygon resampled to 1000 points (resample_segments), letterboxed,
// truncated to integer pixels, filled at input resolution (cv2.fillPoly), shrunk 4x
// (cv2.resize, INTER_LINEAR) and layered largest first so a smaller object covers a
// larger one (polygons2masks_overlap). Predictions: coefficients x prototypes, cropped to
// the box, logit > 0 (ops.process_mask). IoU: pixel counts (metrics.mask_iou).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "vision/nms.h"

namespace kiln::eval {

using Polygon = std::vector<std::array<float, 2>>;

// resample_segments(n=1000) of one closed polygon: the vertices plus points spaced evenly
// along the vertex index, as float32.
Polygon resample_polygon(const Polygon& polygon, int n = 1000);

// The filled polygon (integer pixels of an input_h x input_w image, boundary included)
// shrunk by `ratio`: a low-resolution pixel is set when at least two of the four input
// pixels its bilinear sample reads are.
std::vector<uint8_t> polygon_mask(const Polygon& input_pixels, int input_h, int input_w, int ratio);

// Ground-truth masks of one image after overlap layering: each object's mask in its own
// plane, objects in their input order. `masks`: one low-resolution plane per object.
std::vector<std::vector<uint8_t>> layer_overlapping(const std::vector<std::vector<uint8_t>>& masks);

// One prediction's mask at prototype resolution. `box` in input pixels; `crop_rounded`:
// crop to the box rounded to whole prototype pixels (Ultralytics' path for fewer than 50
// masks on the CPU) rather than compared as floats.
std::vector<uint8_t> prediction_mask(std::span<const float> protos, int channels, int mh, int mw,
                                     std::span<const float> coefficients, const vision::BoxXyxy& box, int input_h,
                                     int input_w, bool crop_rounded);

// Row-major [a x b] IoU of binary masks of equal size (inter / (union + 1e-7), float32).
std::vector<float> mask_iou_matrix(const std::vector<std::vector<uint8_t>>& a, const std::vector<std::vector<uint8_t>>& b);

}  // namespace kiln::eval
