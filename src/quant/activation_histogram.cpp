#include "quant/activation_histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::quant {

namespace {

constexpr size_t kQuantLevels = 128;  // |x| onto 0..127
constexpr size_t kFirstCandidate = 128;

double center(size_t bin, double width) { return (static_cast<double>(bin) + 0.5) * width; }

// Bins 2k and 2k + 1 into bin k: the histogram of the same values at twice the width.
std::vector<uint64_t> merge_pairs(const std::vector<uint64_t>& counts) {
  std::vector<uint64_t> merged((counts.size() + 1) / 2, 0);
  for (size_t i = 0; i < counts.size(); ++i) merged[i / 2] += counts[i];
  return merged;
}

// The smallest power of two w with max < 2 * kBins * w. Bins of a power-of-two width start at
// multiples of it, so merging pairs gives exactly the bins of the doubled width.
double grid_width(float max) {
  int exponent = 0;
  std::frexp(static_cast<double>(max) / (2 * AbsHistogram::kBins), &exponent);
  return std::ldexp(1.0, exponent);
}

double quantized(double x, double amax) {
  const double scale = amax / 127.0;
  return std::min(std::nearbyint(x / scale), 127.0) * scale;
}

// KL(P||Q) of every candidate from prefix sums: P's bins are the counts (the last kept bin
// plus the outliers), Q spreads each of the 128 levels' count evenly over its nonzero bins,
// so sum p log(p / q) splits into sum c log c (a prefix sum), one log per level and the
// last bin: 128 logs per candidate instead of one per bin. The search runs on at most kBins
// bins, as on TensorRT's 2048-bin histogram, so the first candidate (128 bins) lies at max / 16
// or above. On finer bins it reaches down to where SiLU's negative lobe piles up (|x| <= 0.28):
// with about one bin per level there Q matches P bin for bin, KL sees only the clipped mass,
// and it clips most of the positive range.
float entropy_amax(const AbsHistogram& h) {
  std::vector<uint64_t> c = h.counts();
  double width = h.bin_width();
  while (c.size() > AbsHistogram::kBins) c = merge_pairs(c), width *= 2;
  const size_t n = c.size();
  if (n < kFirstCandidate) return h.max();
  c[0] = c[1];  // as TensorRT: the zeros bin (ReLU's spike) would dominate the distribution
  std::vector<double> sum(n + 1, 0), nonzero(n + 1, 0), clogc(n + 1, 0);
  for (size_t j = 0; j < n; ++j) {
    const double v = static_cast<double>(c[j]);
    sum[j + 1] = sum[j] + v;
    nonzero[j + 1] = nonzero[j] + (c[j] != 0);
    clogc[j + 1] = clogc[j] + (c[j] != 0 ? v * std::log(v) : 0.0);
  }
  const double total = sum[n];
  if (total == 0) return h.max();
  double best = std::numeric_limits<double>::infinity();
  size_t best_i = n;
  for (size_t i = kFirstCandidate; i <= n; ++i) {
    const double outliers = total - sum[i];
    double kl = std::numeric_limits<double>::infinity();
    if (c[i - 1] != 0 || outliers == 0) {
      const double kept = sum[i];  // Q's total
      // Bins before the last: sum over levels of c (log c - log P - log(avg / Q)).
      double acc = clogc[i - 1] - sum[i - 1] * (std::log(total) - std::log(kept));
      double last_avg = 0;
      for (size_t k = 0; k < kQuantLevels; ++k) {
        const size_t begin = (k * i + kQuantLevels - 1) / kQuantLevels;        // ceil(k * i / 128)
        const size_t end = ((k + 1) * i + kQuantLevels - 1) / kQuantLevels;    // level k: [begin, end)
        const double s = sum[end] - sum[begin], nz = nonzero[end] - nonzero[begin];
        if (nz == 0) continue;
        const double avg = s / nz;
        if (k == kQuantLevels - 1) last_avg = avg;
        const double before_last = k == kQuantLevels - 1 ? s - static_cast<double>(c[i - 1]) : s;
        acc -= before_last * std::log(avg);
      }
      kl = acc / total;
      const double p_last = (static_cast<double>(c[i - 1]) + outliers) / total;
      if (p_last > 0) kl += p_last * (std::log(p_last) - std::log(last_avg / kept));
    }
    if (kl <= best) best = kl, best_i = i;
  }
  return static_cast<float>(static_cast<double>(best_i) * width);
}

float percentile_amax(const AbsHistogram& h, double percentile) {
  const std::vector<uint64_t>& c = h.counts();
  uint64_t total = 0;
  for (uint64_t v : c) total += v;
  const double target = percentile / 100.0 * static_cast<double>(total);
  uint64_t seen = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    seen += c[i];
    if (static_cast<double>(seen) >= target) return static_cast<float>(static_cast<double>(i) * h.bin_width());
  }
  return h.max();
}

double squared_error(const AbsHistogram& h, double amax) {
  const std::vector<uint64_t>& c = h.counts();
  double sum = 0;
  for (size_t j = 0; j < c.size(); ++j) {
    if (c[j] == 0) continue;
    const double x = center(j, h.bin_width());
    const double d = x - quantized(x, amax);
    sum += static_cast<double>(c[j]) * d * d;
  }
  return sum;
}

// The first bin whose center quantizes to level q or above at amax = center(i): centers
// (j + 0.5) w over the scale (i + 0.5) w / 127 reach q - 0.5 where 254 (2j + 1) > (2q - 1)
// (2i + 1). One side is even and the other odd, so no center lies on a rounding boundary,
// and the boundaries are where `quantized` (in floating point) puts them.
size_t first_bin_of_level(size_t q, size_t i) {
  const uint64_t t = (2 * static_cast<uint64_t>(q) - 1) * (2 * static_cast<uint64_t>(i) + 1);
  return static_cast<size_t>((t / 254 + 1) / 2);  // the smallest j with 2j + 1 > t / 254
}

// squared_error at every candidate amax = center(i), i >= 128, without a pass over the bins
// per candidate: the bins quantized to one level form a run, and the error of a run comes
// from exact integer prefix sums of c, c j and c j^2 (j taken from the run's first bin).
float mse_amax(const AbsHistogram& h) {
  const std::vector<uint64_t>& c = h.counts();
  const size_t n = c.size();
  if (n <= kFirstCandidate) return h.max();
  using Int = unsigned __int128;
  std::vector<Int> s0(n + 1, 0), s1(n + 1, 0), s2(n + 1, 0);
  for (size_t j = 0; j < n; ++j) {
    s0[j + 1] = s0[j] + c[j];
    s1[j + 1] = s1[j] + static_cast<Int>(c[j]) * j;
    s2[j + 1] = s2[j] + static_cast<Int>(c[j]) * j * j;
  }
  const double w = h.bin_width();
  double best = std::numeric_limits<double>::infinity();
  double best_amax = h.max();
  for (size_t i = kFirstCandidate; i < n; ++i) {
    const double amax = center(i, w), scale = amax / 127.0;
    double e = 0;
    for (size_t q = 0; q <= kQuantLevels - 1; ++q) {
      const size_t begin = q == 0 ? 0 : std::min(first_bin_of_level(q, i), n);
      const size_t end = q == kQuantLevels - 1 ? n : std::min(first_bin_of_level(q + 1, i), n);
      if (begin >= end) continue;
      // sum c (x - q scale)^2 with x = w m + d over the run's offsets m = j - begin.
      const Int count = s0[end] - s0[begin];
      if (count == 0) continue;
      const Int sum_j = s1[end] - s1[begin], sum_jj = s2[end] - s2[begin];
      const Int sum_m = sum_j - count * begin;
      const Int sum_mm = sum_jj - 2 * begin * sum_j + count * begin * begin;
      const double d = center(begin, w) - static_cast<double>(q) * scale;
      e += w * w * static_cast<double>(sum_mm) + 2 * w * d * static_cast<double>(sum_m) + d * d * static_cast<double>(count);
    }
    if (e < best) best = e, best_amax = amax;
  }
  return static_cast<float>(best_amax);
}

}  // namespace

AbsHistogram::AbsHistogram(std::vector<uint64_t> counts, double bin_width, float max)
    : counts_(std::move(counts)), width_(bin_width), max_(max) {}

void AbsHistogram::fit(float max) {
  if (width_ == 0) {
    width_ = grid_width(max);
    counts_.assign(1, zeros_before_width_);
  }
  while (static_cast<double>(max) >= 2 * kBins * width_) {
    counts_ = merge_pairs(counts_);
    width_ *= 2;
  }
  counts_.resize(bin_of(max, 1.0 / width_) + 1, 0);
}

void AbsHistogram::add(std::span<const float> values) {
  float batch_max = 0;
  for (float v : values) {
    const float a = std::fabs(v);
    batch_max = a > batch_max ? a : batch_max;  // NaN compares false: skipped
  }
  max_ = std::max(max_, batch_max);
  if (max_ == 0) {
    zeros_before_width_ += values.size();
    return;
  }
  fit(max_);
  const double limit = batch_max, inverse_width = 1.0 / width_;
  uint64_t* counts = counts_.data();
  for (float v : values) {
    const double a = std::fabs(static_cast<double>(v));
    if (a <= limit) counts[bin_of(a, inverse_width)] += 1;  // NaN fails the test
  }
}

float amax_for(const AbsHistogram& h, const CalibrationMethod& method) {
  if (h.max() == 0 || h.bin_width() == 0) return kMinAmax;
  float amax = h.max();
  switch (method.kind) {
    case CalibrationMethod::Kind::kMinMax: break;
    case CalibrationMethod::Kind::kEntropy: amax = entropy_amax(h); break;
    case CalibrationMethod::Kind::kPercentile: amax = percentile_amax(h, method.percentile); break;
    case CalibrationMethod::Kind::kMse: amax = mse_amax(h); break;
  }
  return std::max(amax, kMinAmax);
}

double quantization_nsr(const AbsHistogram& h, float amax) {
  double signal = 0;
  const std::vector<uint64_t>& c = h.counts();
  for (size_t j = 0; j < c.size(); ++j) {
    const double x = center(j, h.bin_width());
    signal += static_cast<double>(c[j]) * x * x;
  }
  return signal == 0 ? 0.0 : squared_error(h, amax) / signal;
}

}  // namespace kiln::quant
