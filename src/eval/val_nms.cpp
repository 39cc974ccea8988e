#include "eval/val_nms.h"

#include <algorithm>

namespace kiln::eval {

std::vector<BoxPrediction> multi_label_nms(std::span<const float> raw, int num_anchors, int num_classes,
                                           const ValNmsOptions& options) {
  auto at = [&](int channel, int anchor) { return raw[static_cast<size_t>(channel) * num_anchors + anchor]; };
  // Anchor-major, then class order: torch.where(cls > conf) on the [anchors, classes] matrix.
  std::vector<BoxPrediction> cands;
  for (int a = 0; a < num_anchors; ++a) {
    const float cx = at(0, a), cy = at(1, a), hw = at(2, a) / 2, hh = at(3, a) / 2;
    for (int c = 0; c < num_classes; ++c) {
      const float s = at(4 + c, a);
      if (s > options.conf) cands.push_back({a, c, s, {cx - hw, cy - hh, cx + hw, cy + hh}});
    }
  }
  if (static_cast<int>(cands.size()) > options.max_nms) {
    std::stable_sort(cands.begin(), cands.end(),
                     [](const BoxPrediction& x, const BoxPrediction& y) { return x.conf > y.conf; });
    cands.resize(options.max_nms);
  }
  std::vector<vision::BoxXyxy> offset_boxes(cands.size());
  std::vector<float> scores(cands.size());
  for (size_t i = 0; i < cands.size(); ++i) {
    const float off = static_cast<float>(cands[i].class_id) * options.max_wh;
    for (int k = 0; k < 4; ++k) offset_boxes[i][k] = cands[i].box[k] + off;
    scores[i] = cands[i].conf;
  }
  std::vector<int> keep = vision::nms(offset_boxes, scores, options.iou);
  if (static_cast<int>(keep.size()) > options.max_det) keep.resize(options.max_det);
  std::vector<BoxPrediction> out;
  out.reserve(keep.size());
  for (int i : keep) out.push_back(cands[i]);
  return out;
}

}  // namespace kiln::eval
