// Precision, recall and AP per class from matched predictions, as Ultralytics'
// ap_per_class (metrics.py) computes them: predictions sorted by confidence, cumulative
// TP/FP, AP by 101-point interpolation of the precision envelope, and P and R read at the
// confidence where the smoothed mean F1 over classes peaks.
#pragma once

#include <array>
#include <span>
#include <vector>

#include "eval/matching.h"

namespace kiln::eval {

struct ClassAp {
  int class_id = 0;
  int num_targets = 0;
  double precision = 0, recall = 0, f1 = 0;  // at the max-F1 confidence
  std::array<double, kNumIouThresholds> ap{};
};

// One entry per class present in target_classes (classes only predicted are left out, as
// Ultralytics leaves them out), sorted by class id. tp, conf and pred_classes describe the
// same predictions. Equal confidences keep their input order (numpy's argsort leaves their
// order unspecified; only exact ties between a TP and a FP can make the two differ).
std::vector<ClassAp> ap_per_class(std::span<const TpRow> tp, std::span<const float> conf,
                                  std::span<const int> pred_classes, std::span<const int> target_classes);

// AP of one recall/precision curve: sentinels, envelope, 101-point interpolation,
// trapezoidal integration (Ultralytics compute_ap, method "interp").
double compute_ap(std::span<const double> recall, std::span<const double> precision);

// np.interp(x, xp, fp, left, right) for non-decreasing xp (duplicates allowed).
double interp(double x, std::span<const double> xp, std::span<const double> fp, double left, double right);

}  // namespace kiln::eval
