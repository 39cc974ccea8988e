#include "quant/activation_histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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
  ASSERT_EQ(h.counts().size(), AbsHistogram::kBins);
  EXPECT_DOUBLE_EQ(h.bin_width(), 2.0 / 2048);
  EXPECT_EQ(h.counts()[0], 1u);
  EXPECT_EQ(h.counts()[1024], 1u);
  EXPECT_EQ(h.counts()[2047], 1u);  // the max lands in the last bin
  const std::vector<float> second{-10.f};
  h.add(second);  // 10240 bins of the first width -> merged twice into 2560
  EXPECT_FLOAT_EQ(h.max(), 10.f);
  EXPECT_DOUBLE_EQ(h.bin_width(), 8.0 / 2048);
  ASSERT_EQ(h.counts().size(), 2560u);
  uint64_t total = 0;
  for (uint64_t c : h.counts()) total += c;
  EXPECT_EQ(total, 4u);
  EXPECT_EQ(h.counts()[2559], 1u);
  EXPECT_EQ(h.counts()[256], 1u);  // 1.0 / (8 / 2048)
}

TEST(AbsHistogram, ZerosBeforeTheFirstNonzeroBatchLandInTheFirstBin) {
  AbsHistogram h;
  const std::vector<float> zeros(5, 0.f), ones{1.f};
  h.add(zeros);
  EXPECT_FLOAT_EQ(amax_for(h, method("entropy")), kMinAmax);
  h.add(ones);
  EXPECT_EQ(h.counts()[0], 5u);
  EXPECT_EQ(h.counts()[2047], 1u);
}

TEST(AbsHistogram, NoiseToSignalFallsAsTheRangeFitsTheData) {
  const AbsHistogram h = decaying();
  const double clipped = quantization_nsr(h, 1.f), fitted = quantization_nsr(h, 14.055f);
  EXPECT_GT(clipped, fitted);
  EXPECT_GT(fitted, 0.0);
  EXPECT_LT(fitted, 1e-3);
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
