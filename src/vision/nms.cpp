#include "vision/nms.h"

#include <algorithm>
#include <numeric>

namespace kiln::vision {

namespace {
float area(const BoxXyxy& b) { return (b[2] - b[0]) * (b[3] - b[1]); }
}  // namespace

float box_iou(const BoxXyxy& a, const BoxXyxy& b) {
  float w = std::max(0.f, std::min(a[2], b[2]) - std::max(a[0], b[0]));
  float h = std::max(0.f, std::min(a[3], b[3]) - std::max(a[1], b[1]));
  float inter = w * h;
  return inter / (area(a) + area(b) - inter);
}

std::vector<int> nms(const std::vector<BoxXyxy>& boxes, const std::vector<float>& scores, double iou_threshold) {
  std::vector<int> order(boxes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
  std::vector<char> suppressed(boxes.size(), 0);
  std::vector<int> keep;
  for (size_t i = 0; i < order.size(); ++i) {
    const int bi = order[i];
    if (suppressed[bi]) continue;
    keep.push_back(bi);
    for (size_t j = i + 1; j < order.size(); ++j) {
      const int bj = order[j];
      // torchvision compares the float IoU against the double threshold.
      if (!suppressed[bj] && static_cast<double>(box_iou(boxes[bi], boxes[bj])) > iou_threshold) suppressed[bj] = 1;
    }
  }
  return keep;
}

}  // namespace kiln::vision
