// Accumulates per-image matches over a dataset and produces the figures of Ultralytics'
// val table: per class and overall P, R, mAP50, mAP50-95, images and instances.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "eval/matching.h"

namespace kiln::eval {

struct ImageMatches {
  std::vector<TpRow> tp;       // per prediction
  std::vector<float> conf;     // per prediction
  std::vector<int> pred_classes;
  std::vector<int> target_classes;  // per ground-truth object
};

// Matches one image's predictions to its ground truth given their IoU matrix (row-major
// [targets x predictions]); with no targets or no predictions, every prediction is a FP.
ImageMatches match_image(std::span<const int> pred_classes, std::span<const float> conf,
                         std::span<const int> target_classes, std::span<const float> iou);

struct MetricsRow {
  std::string name;  // class name, or "all"
  int class_id = -1; // -1 for "all"
  int images = 0;    // images holding the class (all: images seen)
  int instances = 0;
  double precision = 0, recall = 0, map50 = 0, map50_95 = 0;
};

struct MetricsReport {
  MetricsRow all;
  std::vector<MetricsRow> classes;  // classes present in the ground truth, by class id
};

class MetricsAccumulator {
 public:
  void add(ImageMatches image);
  // Names index = class id; ids beyond it print as numbers.
  MetricsReport report(const std::vector<std::string>& names) const;

 private:
  std::vector<TpRow> tp_;
  std::vector<float> conf_;
  std::vector<int> pred_classes_;
  std::vector<int> target_classes_;
  std::vector<int> images_with_class_;  // per class id
  int images_ = 0;
};

}  // namespace kiln::eval
