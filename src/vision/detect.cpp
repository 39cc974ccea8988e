#include "vision/detect.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kiln::vision {

std::vector<Candidate> threshold_candidates(std::span<const float> raw, int num_anchors, int num_classes,
                                            const NmsOptions& options) {
  auto at = [&](int channel, int anchor) { return raw[static_cast<size_t>(channel) * num_anchors + anchor]; };
  std::vector<Candidate> cands;
  for (int a = 0; a < num_anchors; ++a) {
    // First maximum wins, as torch.max does.
    int best = 0;
    float score = at(4, a);
    for (int c = 1; c < num_classes; ++c) {
      float s = at(4 + c, a);
      if (s > score) score = s, best = c;
    }
    if (!(score > options.conf)) continue;
    if (!options.classes.empty() &&
        std::find(options.classes.begin(), options.classes.end(), best) == options.classes.end())
      continue;
    // xywh2xyxy in float32, as Ultralytics computes it.
    float cx = at(0, a), cy = at(1, a), hw = at(2, a) / 2, hh = at(3, a) / 2;
    cands.push_back({a, best, score, {cx - hw, cy - hh, cx + hw, cy + hh}});
  }
  if (static_cast<int>(cands.size()) > options.max_nms) {
    std::stable_sort(cands.begin(), cands.end(), [](const Candidate& x, const Candidate& y) { return x.score > y.score; });
    cands.resize(options.max_nms);
  }
  return cands;
}

std::vector<Candidate> select_candidates(std::span<const float> raw, int num_anchors,
                                         int num_classes, const NmsOptions& options) {
  std::vector<Candidate> cands = threshold_candidates(raw, num_anchors, num_classes, options);
  std::vector<BoxXyxy> offset_boxes(cands.size());
  std::vector<float> scores(cands.size());
  for (size_t i = 0; i < cands.size(); ++i) {
    float off = options.agnostic ? 0.f : static_cast<float>(cands[i].class_id) * options.max_wh;
    for (int k = 0; k < 4; ++k) offset_boxes[i][k] = cands[i].box[k] + off;
    scores[i] = cands[i].score;
  }
  std::vector<int> keep = nms(offset_boxes, scores, options.iou);
  if (static_cast<int>(keep.size()) > options.max_det) keep.resize(options.max_det);
  std::vector<Candidate> out;
  out.reserve(keep.size());
  for (int i : keep) out.push_back(cands[i]);
  return out;
}

LetterboxGeometry letterbox_geometry(int input_h, int input_w, int orig_h, int orig_w) {
  LetterboxGeometry g;
  g.gain = std::min(static_cast<double>(input_h) / orig_h, static_cast<double>(input_w) / orig_w);
  // Python's round() is round-half-even, as nearbyint in the default rounding mode.
  g.pad_x = static_cast<float>(std::nearbyint((input_w - std::nearbyint(orig_w * g.gain)) / 2 - 0.1));
  g.pad_y = static_cast<float>(std::nearbyint((input_h - std::nearbyint(orig_h * g.gain)) / 2 - 0.1));
  return g;
}

BoxXyxy scale_box(const BoxXyxy& box, int input_h, int input_w, int orig_h, int orig_w) {
  const LetterboxGeometry geo = letterbox_geometry(input_h, input_w, orig_h, orig_w);
  const float pad_x = geo.pad_x, pad_y = geo.pad_y;
  const float g = static_cast<float>(geo.gain);
  BoxXyxy b = {(box[0] - pad_x) / g, (box[1] - pad_y) / g, (box[2] - pad_x) / g, (box[3] - pad_y) / g};
  b[0] = std::clamp(b[0], 0.f, static_cast<float>(orig_w));
  b[2] = std::clamp(b[2], 0.f, static_cast<float>(orig_w));
  b[1] = std::clamp(b[1], 0.f, static_cast<float>(orig_h));
  b[3] = std::clamp(b[3], 0.f, static_cast<float>(orig_h));
  return b;
}

std::vector<Detection> decode_detect(std::span<const float> raw, int num_anchors, int num_classes,
                                     const NmsOptions& options, int input_h, int input_w, int orig_h,
                                     int orig_w) {
  std::vector<Detection> dets;
  for (const Candidate& c : select_candidates(raw, num_anchors, num_classes, options))
    dets.push_back({c.class_id, c.score, scale_box(c.box, input_h, input_w, orig_h, orig_w)});
  return dets;
}

}  // namespace kiln::vision
