// What calibration keeps of one activation: the largest |x| and a histogram of |x| in
// equal-width bins from 0, and the INT8 range (amax) each calibration method reads from it.
// Counts are integers and the bins depend on the largest |x| alone, so the same values give
// bit-identical ranges however they are split into batches and in whatever order.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kiln/options.h"

namespace kiln::quant {

class AbsHistogram {
 public:
  // Bins of a power-of-two width w: bin i holds [i, i + 1) * w, and w is the smallest power
  // of two with max|x| < 2 * kBins * w, so there are kBins + 1 to 2 * kBins bins. When a
  // later batch raises the max, adjacent pairs merge: exactly the bins of the new width.
  static constexpr size_t kBins = 2048;

  AbsHistogram() = default;
  // A histogram made by hand (tests): counts[i] values in [i, i + 1) * bin_width.
  AbsHistogram(std::vector<uint64_t> counts, double bin_width, float max);

  void add(std::span<const float> values);

  float max() const { return max_; }
  double bin_width() const { return width_; }
  const std::vector<uint64_t>& counts() const { return counts_; }

 private:
  void fit(float max);
  // The bin of |x| given 1 / bin width: the width is a power of two, so multiplying by its
  // inverse divides by it exactly (and the inverse is computed once per batch).
  static size_t bin_of(double magnitude, double inverse_width) {
    return static_cast<size_t>(magnitude * inverse_width);
  }
  std::vector<uint64_t> counts_;
  double width_ = 0;
  float max_ = 0;
  uint64_t zeros_before_width_ = 0;  // values seen while every value so far was 0
};

// The smallest amax any method returns: an all-zero activation still gets a usable scale.
inline constexpr float kMinAmax = 1e-6f;

// amax by `method` (kiln/options.h: CalibrationMethod), as TensorRT's histogram calibrator
// (pytorch-quantization, NVIDIA ModelOpt) computes it. Entropy: on the histogram merged
// pairwise down to at most kBins bins (TensorRT's 2048), the zeros bin takes bin 1's count;
// for each candidate of i >= 128 bins, the clipped distribution P (outliers added to the last
// kept bin) against Q, P merged into 128 levels and spread back over its nonzero bins; the i
// with the smallest KL(P||Q) (the last on ties) gives amax = i * bin width.
// Percentile: the left edge of the bin where the cumulative count reaches P%. MSE: the bin
// center (from bin 128 on) with the smallest sum of count * (center - quantized center)^2.
float amax_for(const AbsHistogram& histogram, const CalibrationMethod& method);

// Noise-to-signal power ratio of quantizing the histogram's values (bin centers) to
// symmetric INT8 at `amax`: how much a layer reading this activation loses.
double quantization_nsr(const AbsHistogram& histogram, float amax);

}  // namespace kiln::quant
