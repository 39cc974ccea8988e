#include "eval/matching.h"

#include <algorithm>
#include <numeric>

namespace kiln::eval {

const std::array<float, kNumIouThresholds>& iou_thresholds() {
  // torch.linspace in float32: the first half steps up from the start, the second half
  // steps down from the end.
  static const std::array<float, kNumIouThresholds> kThresholds = [] {
    std::array<float, kNumIouThresholds> t{};
    const float start = 0.5f, end = 0.95f;
    const float step = (end - start) / (kNumIouThresholds - 1);
    for (int i = 0; i < kNumIouThresholds; ++i)
      t[i] = i < kNumIouThresholds / 2 ? start + step * i : end - step * (kNumIouThresholds - 1 - i);
    return t;
  }();
  return kThresholds;
}

std::vector<TpRow> match_predictions(std::span<const int> pred_classes, std::span<const int> true_classes,
                                     std::span<const float> iou) {
  const size_t np = pred_classes.size(), nl = true_classes.size();
  std::vector<TpRow> correct(np, TpRow{});
  const auto& thresholds = iou_thresholds();
  struct Pair {
    int label, pred;
    float iou;
  };
  // Candidate pairs at the lowest threshold; higher thresholds take a prefix-filtered subset.
  std::vector<Pair> pairs;
  for (size_t l = 0; l < nl; ++l)
    for (size_t d = 0; d < np; ++d) {
      const float v = true_classes[l] == pred_classes[d] ? iou[l * np + d] : 0.f;
      if (v >= thresholds[0]) pairs.push_back({static_cast<int>(l), static_cast<int>(d), v});
    }
  // Highest IoU first; ties in reverse (label, prediction) order, as reversing an ascending
  // argsort leaves them.
  std::reverse(pairs.begin(), pairs.end());
  std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.iou > b.iou; });

  std::vector<int> best_label_of_pred(np);
  std::vector<int> pred_of_label(nl);
  for (int t = 0; t < kNumIouThresholds; ++t) {
    std::fill(best_label_of_pred.begin(), best_label_of_pred.end(), -1);
    for (const Pair& p : pairs)
      if (p.iou >= thresholds[t] && best_label_of_pred[p.pred] < 0) best_label_of_pred[p.pred] = p.label;
    std::fill(pred_of_label.begin(), pred_of_label.end(), -1);
    for (size_t d = 0; d < np; ++d) {
      const int l = best_label_of_pred[d];
      if (l >= 0 && pred_of_label[l] < 0) pred_of_label[l] = static_cast<int>(d);
    }
    for (int d : pred_of_label)
      if (d >= 0) correct[d][t] = true;
  }
  return correct;
}

std::vector<float> box_iou_matrix(std::span<const vision::BoxXyxy> a, std::span<const vision::BoxXyxy> b) {
  std::vector<float> out(a.size() * b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const float area_a = (a[i][2] - a[i][0]) * (a[i][3] - a[i][1]);
    for (size_t j = 0; j < b.size(); ++j) {
      const float iw = std::max(std::min(a[i][2], b[j][2]) - std::max(a[i][0], b[j][0]), 0.f);
      const float ih = std::max(std::min(a[i][3], b[j][3]) - std::max(a[i][1], b[j][1]), 0.f);
      const float inter = iw * ih;
      const float area_b = (b[j][2] - b[j][0]) * (b[j][3] - b[j][1]);
      out[i * b.size() + j] = inter / (area_a + area_b - inter + 1e-7f);
    }
  }
  return out;
}

}  // namespace kiln::eval
