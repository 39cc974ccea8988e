#include "quant/activation_histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace kiln::quant {
namespace {

// tests/tools/calibration_reference.py: decaying(): counts falling as exp(-j / 150) over
// 2048 bins of 0.01 with a few far outliers.
AbsHistogram decaying() {
  std::vector<uint64_t> counts(2048);
  for (size_t j = 0; j < counts.size(); ++j) counts[j] = static_cast<uint64_t>(std::floor(100000 * std::exp(-(j / 150.0))));
  counts[1900] += 3;
  counts[2047] += 2;
  return AbsHistogram(counts, 0.01, 20.475f);
}

// tests/tools/calibration_reference.py: silu_like(): SiLU's |x| on 4096 bins of 1/512, its
// negative lobe (up to 0.28, the minimum's spike in bin 142) holding most of the values.
AbsHistogram silu_like() {
  std::vector<uint64_t> counts(4096);
  for (size_t j = 0; j < counts.size(); ++j) counts[j] = static_cast<uint64_t>(std::floor(5000 * std::exp(-(j / 400.0))));
  for (size_t j = 0; j <= 142; ++j) counts[j] += 20000;
  counts[142] += 1000000;
  counts[3000] += 2;
  counts[4095] += 2;
  return AbsHistogram(counts, 1.0 / 512, 8.f);
}

CalibrationMethod method(std::string_view text) { return *parse_calibration_method(text); }

// The values tests/tools/calibration_reference.py (TensorRT's calibrator in numpy) prints.
TEST(AbsHistogram, MethodsMatchTensorRtsCalibratorOnAHandMadeHistogram) {
  const AbsHistogram h = decaying();
  EXPECT_FLOAT_EQ(amax_for(h, method("entropy")), 16.21f);
  EXPECT_FLOAT_EQ(amax_for(h, method("mse")), 14.055f);
  EXPECT_FLOAT_EQ(amax_for(h, method("percentile")), 13.52f);
  EXPECT_FLOAT_EQ(amax_for(h, method("percentile=99.9")), 10.31f);
  EXPECT_FLOAT_EQ(amax_for(h, method("minmax")), 20.475f);
}

// TensorRT searches a 2048-bin histogram, so its smallest candidate is max / 16 = 0.5 here.
// Searching all 4096 bins would start at 0.25 and stop just past the lobe's spike (0.2793,
// the reference's figure on 4096 bins), clipping nearly all positive values.
TEST(AbsHistogram, EntropySearchesAtMost2048BinsAsTensorRtDoes) {
  EXPECT_FLOAT_EQ(amax_for(silu_like(), method("entropy")), 3.26953125f);
}

TEST(AbsHistogram, EntropyKeepsTheWholeRangeOfAUniformHistogram) {
  // Nothing to clip: every candidate short of all bins leaves mass outside -> the last one.
  const AbsHistogram h(std::vector<uint64_t>(2048, 10), 0.5, 1024.f);
  EXPECT_FLOAT_EQ(amax_for(h, method("entropy")), 1024.f);
  EXPECT_FLOAT_EQ(amax_for(h, method("percentile=100")), 1023.5f);
}

TEST(AbsHistogram, AddCountsAbsoluteValuesAndGrowsWithLaterMaxima) {
  AbsHistogram h;
  const std::vector<float> first{0.f, 1.f, -2.f, std::numeric_limits<float>::quiet_NaN()};
  h.add(first);
  // The smallest power of two w with 2 < 4096 w: 2^-10, bins 0 .. floor(2 / w).
  EXPECT_DOUBLE_EQ(h.bin_width(), 1.0 / 1024);
  ASSERT_EQ(h.counts().size(), 2049u);
  EXPECT_EQ(h.counts()[0], 1u);
  EXPECT_EQ(h.counts()[1024], 1u);
  EXPECT_EQ(h.counts()[2048], 1u);
  const std::vector<float> second{-10.f};
  h.add(second);  // 10 < 4096 w from w = 2^-8: pairs merged twice
  EXPECT_FLOAT_EQ(h.max(), 10.f);
  EXPECT_DOUBLE_EQ(h.bin_width(), 1.0 / 256);
  ASSERT_EQ(h.counts().size(), 2561u);
  uint64_t total = 0;
  for (uint64_t c : h.counts()) total += c;
  EXPECT_EQ(total, 4u);
  EXPECT_EQ(h.counts()[2560], 1u);
  EXPECT_EQ(h.counts()[256], 1u);
  EXPECT_EQ(h.counts()[512], 1u);
}

// Calibration adds one image at a time, and a later image often raises the max: the
// histogram (and so every method's amax) must be that of all the values at once.
TEST(AbsHistogram, BatchesOfAnyRangeInAnyOrderGiveTheHistogramOfAllValues) {
  std::vector<std::vector<float>> batches(3);
  const float ranges[] = {0.7f, 5.f, 43.f};
  for (size_t b = 0; b < batches.size(); ++b)
    for (int k = 0; k < 5000; ++k) {
      const float x = ranges[b] * static_cast<float>((k * 7919) % 5003) / 5003.f;
      batches[b].push_back(k % 3 == 0 ? -0.1f * x : x * x / ranges[b]);
    }
  std::vector<float> all;
  for (const auto& batch : batches) all.insert(all.end(), batch.begin(), batch.end());
  AbsHistogram at_once, rising, falling;
  at_once.add(all);
  for (const auto& batch : batches) rising.add(batch);
  for (size_t b = batches.size(); b-- > 0;) falling.add(batches[b]);
  for (const AbsHistogram* h : {&rising, &falling}) {
    EXPECT_EQ(h->max(), at_once.max());
    EXPECT_EQ(h->bin_width(), at_once.bin_width());
    EXPECT_EQ(h->counts(), at_once.counts());
    for (const char* m : {"entropy", "mse", "percentile", "minmax"})
      EXPECT_EQ(amax_for(*h, method(m)), amax_for(at_once, method(m))) << m;
  }
}

TEST(AbsHistogram, ZerosBeforeTheFirstNonzeroBatchLandInTheFirstBin) {
  AbsHistogram h;
  const std::vector<float> zeros(5, 0.f), ones{1.f};
  h.add(zeros);
  EXPECT_FLOAT_EQ(amax_for(h, method("entropy")), kMinAmax);
  h.add(ones);
  EXPECT_EQ(h.counts()[0], 5u);
  EXPECT_EQ(h.counts()[2048], 1u);
}

TEST(AbsHistogram, NoiseToSignalFallsAsTheRangeFitsTheData) {
  const AbsHistogram h = decaying();
  const double clipped = quantization_nsr(h, 1.f), fitted = quantization_nsr(h, 14.055f);
  EXPECT_GT(clipped, fitted);
  EXPECT_GT(fitted, 0.0);
  EXPECT_LT(fitted, 1e-3);
}

// MSE's search sums each level's run of bins from prefix sums; it must pick the candidate a
// direct pass over the bins picks (quantization_nsr is that pass, over a constant signal):
// random histograms of 129 to 4096 bins, sparse and dense, counts up to 2^40, any width.
TEST(AbsHistogram, MseSearchEqualsTheDirectSumOverBins) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    const size_t n = 129 + rng() % 3968;
    std::vector<uint64_t> counts(n, 0);
    const uint64_t scale = uint64_t{1} << (rng() % 40);
    for (size_t j = 0; j < n; ++j)
      if (trial % 2 == 0 || rng() % 16 == 0) counts[j] = static_cast<uint64_t>(static_cast<double>(scale) * std::exp(-static_cast<double>(j) / static_cast<double>(1 + rng() % n))) + rng() % 3;
    counts[n - 1] += 1;
    const double width = std::ldexp(1.0 + static_cast<double>(rng() % 1000) / 1000.0, -static_cast<int>(rng() % 12));
    const AbsHistogram h(counts, width, static_cast<float>(static_cast<double>(n) * width));
    double best = std::numeric_limits<double>::infinity();
    float want = h.max();
    for (size_t i = 128; i < n; ++i) {
      const float amax = static_cast<float>((static_cast<double>(i) + 0.5) * width);
      const double e = quantization_nsr(h, static_cast<float>((static_cast<double>(i) + 0.5) * width));
      if (e < best) best = e, want = amax;
    }
    EXPECT_EQ(amax_for(h, method("mse")), want) << "trial " << trial << ", " << n << " bins";
  }
}

TEST(CalibrationMethod, ParsesEachSpellingOnce) {
  EXPECT_EQ(method("percentile").percentile, 99.99);
  EXPECT_EQ(method("percentile=99.9").to_string(), "percentile=99.9");
  EXPECT_EQ(method("mse").kind, CalibrationMethod::Kind::kMse);
  for (const char* bad : {"", "kl", "percentile=", "percentile=0", "percentile=101", "percentile=9x"}) {
    auto r = parse_calibration_method(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("calibration method"), std::string::npos);
  }
}

}  // namespace
}  // namespace kiln::quant
