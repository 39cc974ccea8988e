// Greedy non-maximum suppression with torchvision.ops.nms semantics.
#pragma once

#include <array>
#include <vector>

namespace kiln::vision {

using BoxXyxy = std::array<float, 4>;

// Intersection over union computed as torchvision does, in float.
float box_iou(const BoxXyxy& a, const BoxXyxy& b);

// Visits boxes by descending score (stable for ties) and drops every later box whose IoU
// with a kept one is strictly greater than iou_threshold. Returns the kept indices, best
// first. Boxes of different classes must be separated by the caller (class offsets).
std::vector<int> nms(const std::vector<BoxXyxy>& boxes, const std::vector<float>& scores, double iou_threshold);

}  // namespace kiln::vision
