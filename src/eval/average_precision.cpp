#include "eval/average_precision.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace kiln::eval {

namespace {

constexpr double kEps = 1e-16;  // ap_per_class's eps
constexpr int kCurvePoints = 1000;

// np.linspace(0, 1, n).
std::vector<double> linspace01(int n) {
  std::vector<double> x(n);
  const double step = 1.0 / (n - 1);
  for (int i = 0; i < n; ++i) x[i] = i * step;
  x[n - 1] = 1.0;
  return x;
}

// Ultralytics' smooth(y, f): box filter of odd width round(len * f * 2) // 2 + 1, the ends
// padded with the end values.
std::vector<double> smooth(const std::vector<double>& y, double f) {
  const int nf = static_cast<int>(std::nearbyint(y.size() * f * 2)) / 2 + 1;
  const int half = nf / 2;
  std::vector<double> yp(half, y.front());
  yp.insert(yp.end(), y.begin(), y.end());
  yp.insert(yp.end(), half, y.back());
  const double w = 1.0 / nf;
  std::vector<double> out(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    double s = 0;
    for (int k = 0; k < nf; ++k) s += yp[i + k] * w;
    out[i] = s;
  }
  return out;
}

}  // namespace

double interp(double x, std::span<const double> xp, std::span<const double> fp, double left, double right) {
  if (xp.empty()) return left;
  if (x < xp.front()) return left;
  if (x > xp.back()) return right;
  if (x == xp.back()) return fp.back();
  // The last j with xp[j] <= x; then xp[j + 1] > x.
  const size_t j = static_cast<size_t>(std::upper_bound(xp.begin(), xp.end(), x) - xp.begin()) - 1;
  if (xp[j] == x) return fp[j];
  const double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
  double v = slope * (x - xp[j]) + fp[j];
  if (std::isnan(v)) {
    v = slope * (x - xp[j + 1]) + fp[j + 1];
    if (std::isnan(v) && fp[j] == fp[j + 1]) v = fp[j];
  }
  return v;
}

double compute_ap(std::span<const double> recall, std::span<const double> precision) {
  std::vector<double> mrec{0.0}, mpre{1.0};
  mrec.insert(mrec.end(), recall.begin(), recall.end());
  mrec.push_back(recall.empty() ? 1.0 : recall.back());
  mrec.push_back(1.0);
  mpre.insert(mpre.end(), precision.begin(), precision.end());
  mpre.push_back(0.0);
  mpre.push_back(0.0);
  for (size_t i = mpre.size() - 1; i-- > 0;) mpre[i] = std::max(mpre[i], mpre[i + 1]);
  const std::vector<double> x = linspace01(101);
  double ap = 0, prev = interp(x[0], mrec, mpre, mpre.front(), mpre.back());
  for (size_t i = 1; i < x.size(); ++i) {
    const double cur = interp(x[i], mrec, mpre, mpre.front(), mpre.back());
    ap += (x[i] - x[i - 1]) * (prev + cur) / 2.0;
    prev = cur;
  }
  return ap;
}

std::vector<ClassAp> ap_per_class(std::span<const TpRow> tp, std::span<const float> conf,
                                  std::span<const int> pred_classes, std::span<const int> target_classes) {
  std::vector<size_t> order(conf.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return conf[a] > conf[b]; });

  std::map<int, int> targets;  // class -> count, sorted like np.unique
  for (int c : target_classes) ++targets[c];

  const std::vector<double> x = linspace01(kCurvePoints);
  std::vector<ClassAp> out;
  std::vector<std::vector<double>> p_curve, r_curve;
  for (auto [cls, n_l] : targets) {
    ClassAp ca;
    ca.class_id = cls;
    ca.num_targets = n_l;
    std::vector<double> pc(kCurvePoints, 0.0), rc(kCurvePoints, 0.0);
    std::vector<size_t> idx;
    for (size_t i : order)
      if (pred_classes[i] == cls) idx.push_back(i);
    if (!idx.empty()) {
      const size_t n = idx.size();
      std::vector<double> neg_conf(n);
      std::array<std::vector<double>, kNumIouThresholds> recall, precision;
      for (int t = 0; t < kNumIouThresholds; ++t) {
        recall[t].resize(n);
        precision[t].resize(n);
        long tpc = 0, fpc = 0;
        for (size_t k = 0; k < n; ++k) {
          if (tp[idx[k]][t]) ++tpc;
          else ++fpc;
          recall[t][k] = tpc / (n_l + kEps);
          precision[t][k] = static_cast<double>(tpc) / static_cast<double>(tpc + fpc);
        }
      }
      // -conf as float32 widened, as numpy interpolates the float32 xp in float64.
      for (size_t k = 0; k < n; ++k) neg_conf[k] = static_cast<double>(-conf[idx[k]]);
      for (int k = 0; k < kCurvePoints; ++k) {
        rc[k] = interp(-x[k], neg_conf, recall[0], 0.0, recall[0].back());
        pc[k] = interp(-x[k], neg_conf, precision[0], 1.0, precision[0].back());
      }
      for (int t = 0; t < kNumIouThresholds; ++t) ca.ap[t] = compute_ap(recall[t], precision[t]);
    }
    p_curve.push_back(std::move(pc));
    r_curve.push_back(std::move(rc));
    out.push_back(ca);
  }
  if (out.empty()) return out;

  // P, R and F1 at the peak of the smoothed class-mean F1 curve (first maximum).
  const size_t nc = out.size();
  std::vector<double> f1_mean(kCurvePoints, 0.0);
  for (int k = 0; k < kCurvePoints; ++k) {
    double s = 0;
    for (size_t c = 0; c < nc; ++c) s += 2 * p_curve[c][k] * r_curve[c][k] / (p_curve[c][k] + r_curve[c][k] + kEps);
    f1_mean[k] = s / static_cast<double>(nc);
  }
  const std::vector<double> smoothed = smooth(f1_mean, 0.1);
  const size_t best = static_cast<size_t>(std::max_element(smoothed.begin(), smoothed.end()) - smoothed.begin());
  for (size_t c = 0; c < nc; ++c) {
    out[c].precision = p_curve[c][best];
    out[c].recall = r_curve[c][best];
    out[c].f1 = 2 * out[c].precision * out[c].recall / (out[c].precision + out[c].recall + kEps);
  }
  return out;
}

}  // namespace kiln::eval
