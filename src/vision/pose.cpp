#include "vision/pose.h"

#include <algorithm>
#include <cmath>

namespace kiln::vision {

Keypoint scale_keypoint(const Keypoint& k, int input_h, int input_w, int orig_h, int orig_w) {
  const double gain = std::min(static_cast<double>(input_h) / orig_h, static_cast<double>(input_w) / orig_w);
  // Float32 tensor arithmetic with Python-float operands, as in ops.scale_coords.
  const float pad_x = static_cast<float>((input_w - std::nearbyint(orig_w * gain)) / 2);
  const float pad_y = static_cast<float>((input_h - std::nearbyint(orig_h * gain)) / 2);
  const float g = static_cast<float>(gain);
  Keypoint out = k;
  out.x = std::clamp((k.x - pad_x) / g, 0.f, static_cast<float>(orig_w));
  out.y = std::clamp((k.y - pad_y) / g, 0.f, static_cast<float>(orig_h));
  return out;
}

std::vector<PoseDetection> decode_pose(std::span<const float> raw, int num_anchors, int num_classes,
                                       int num_keypoints, int keypoint_dim, const NmsOptions& options, int input_h,
                                       int input_w, int orig_h, int orig_w) {
  auto at = [&](int channel, int anchor) { return raw[static_cast<size_t>(channel) * num_anchors + anchor]; };
  std::vector<PoseDetection> out;
  for (const Candidate& c : select_candidates(raw, num_anchors, num_classes, options)) {
    PoseDetection p{{c.class_id, c.score, scale_box(c.box, input_h, input_w, orig_h, orig_w)}, {}};
    p.keypoints.reserve(num_keypoints);
    for (int k = 0; k < num_keypoints; ++k) {
      const int base = 4 + num_classes + k * keypoint_dim;
      Keypoint kp{at(base, c.anchor), at(base + 1, c.anchor), keypoint_dim >= 3 ? at(base + 2, c.anchor) : 1.f};
      p.keypoints.push_back(scale_keypoint(kp, input_h, input_w, orig_h, orig_w));
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace kiln::vision
