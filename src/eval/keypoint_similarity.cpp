#include "eval/keypoint_similarity.h"

#include <cmath>

namespace kiln::eval {

std::vector<float> keypoint_sigmas(int num_keypoints) {
  if (num_keypoints == 17)
    return {0.026f, 0.025f, 0.025f, 0.035f, 0.035f, 0.079f, 0.079f, 0.072f, 0.072f,
            0.062f, 0.062f, 0.107f, 0.107f, 0.087f, 0.087f, 0.089f, 0.089f};
  return std::vector<float>(num_keypoints, 1.0f / num_keypoints);
}

std::vector<float> oks_matrix(std::span<const float> gt, std::span<const vision::BoxXyxy> gt_boxes,
                              std::span<const float> pred, int num_keypoints, int pred_dims,
                              std::span<const float> sigmas) {
  constexpr float kEps = 1e-7f;
  const size_t ng = gt_boxes.size(), np = pred.size() / (static_cast<size_t>(num_keypoints) * pred_dims);
  std::vector<float> out(ng * np);
  for (size_t g = 0; g < ng; ++g) {
    const vision::BoxXyxy& b = gt_boxes[g];
    const float area = (b[2] - b[0]) * (b[3] - b[1]) * 0.53f;
    const float* gk = gt.data() + g * num_keypoints * 3;
    float labelled = 0;
    for (int k = 0; k < num_keypoints; ++k) labelled += gk[k * 3 + 2] != 0 ? 1.f : 0.f;
    for (size_t p = 0; p < np; ++p) {
      const float* pk = pred.data() + p * num_keypoints * pred_dims;
      float sum = 0;
      for (int k = 0; k < num_keypoints; ++k) {
        if (gk[k * 3 + 2] == 0) continue;
        const float dx = gk[k * 3] - pk[k * pred_dims], dy = gk[k * 3 + 1] - pk[k * pred_dims + 1];
        const float two_sigma = 2 * sigmas[k];
        const float e = (dx * dx + dy * dy) / (two_sigma * two_sigma * (area + kEps) * 2);
        sum += std::exp(-e);
      }
      out[g * np + p] = sum / (labelled + kEps);
    }
  }
  return out;
}

}  // namespace kiln::eval
