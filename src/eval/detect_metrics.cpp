#include "eval/detect_metrics.h"

#include <algorithm>
#include <set>

#include "eval/average_precision.h"

namespace kiln::eval {

ImageMatches match_image(std::span<const int> pred_classes, std::span<const float> conf,
                         std::span<const int> target_classes, std::span<const float> iou) {
  ImageMatches m;
  m.conf.assign(conf.begin(), conf.end());
  m.pred_classes.assign(pred_classes.begin(), pred_classes.end());
  m.target_classes.assign(target_classes.begin(), target_classes.end());
  if (pred_classes.empty() || target_classes.empty())
    m.tp.assign(pred_classes.size(), TpRow{});
  else
    m.tp = match_predictions(pred_classes, target_classes, iou);
  return m;
}

void MetricsAccumulator::add(ImageMatches image) {
  ++images_;
  for (int c : std::set<int>(image.target_classes.begin(), image.target_classes.end())) {
    if (c >= static_cast<int>(images_with_class_.size())) images_with_class_.resize(c + 1, 0);
    ++images_with_class_[c];
  }
  tp_.insert(tp_.end(), image.tp.begin(), image.tp.end());
  conf_.insert(conf_.end(), image.conf.begin(), image.conf.end());
  pred_classes_.insert(pred_classes_.end(), image.pred_classes.begin(), image.pred_classes.end());
  target_classes_.insert(target_classes_.end(), image.target_classes.begin(), image.target_classes.end());
}

MetricsReport MetricsAccumulator::report(const std::vector<std::string>& names) const {
  MetricsReport r;
  r.all.name = "all";
  r.all.images = images_;
  r.all.instances = static_cast<int>(target_classes_.size());
  const std::vector<ClassAp> aps = ap_per_class(tp_, conf_, pred_classes_, target_classes_);
  for (const ClassAp& a : aps) {
    MetricsRow row;
    row.class_id = a.class_id;
    row.name = a.class_id < static_cast<int>(names.size()) ? names[a.class_id] : std::to_string(a.class_id);
    row.images = images_with_class_[a.class_id];
    row.instances = a.num_targets;
    row.precision = a.precision;
    row.recall = a.recall;
    row.map50 = a.ap[0];
    double sum = 0;
    for (double v : a.ap) sum += v;
    row.map50_95 = sum / kNumIouThresholds;
    r.classes.push_back(row);
  }
  if (!aps.empty()) {
    const double n = static_cast<double>(aps.size());
    for (const MetricsRow& row : r.classes) {
      r.all.precision += row.precision / n;
      r.all.recall += row.recall / n;
      r.all.map50 += row.map50 / n;
      r.all.map50_95 += row.map50_95 / n;
    }
  }
  return r;
}

}  // namespace kiln::eval
