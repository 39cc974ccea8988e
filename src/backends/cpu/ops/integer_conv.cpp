#include "backends/cpu/ops/integer_conv.h"

#include <algorithm>
#include <cmath>

#include "backends/cpu/ops/sgemm.h"

namespace kiln::cpu {
namespace {

// The longest reduction slice whose partial sums stay below 2^24 in magnitude: |x - zero
// point| <= 255 for 8-bit x, |w - zero point| <= w_max.
int64_t exact_slice(double w_max) {
  constexpr double kExactFloatInteger = 16777216.0;  // 2^24
  return std::max<int64_t>(1, static_cast<int64_t>(kExactFloatInteger / (255.0 * std::max(w_max, 1.0))));
}

}  // namespace

ir::Tensor integer_conv(const ConvGeometry& g, const ir::Tensor& x, const ir::Tensor& w, double x_zero_point,
                        const std::vector<double>& w_zero_points) {
  const int64_t cg = g.c / g.group, mg = g.m / g.group;
  const int64_t k = cg * g.kh * g.kw;
  const int64_t plane = g.oh * g.ow;
  std::vector<float> weights(static_cast<size_t>(g.m * k));
  const std::vector<int64_t> w_int = w.as_int64();
  double w_max = 0;
  for (int64_t m = 0; m < g.m; ++m)
    for (int64_t i = 0; i < k; ++i) {
      const double v = static_cast<double>(w_int[m * k + i]) - w_zero_points[m];
      weights[m * k + i] = static_cast<float>(v);
      w_max = std::max(w_max, std::fabs(v));
    }
  const int64_t slice = exact_slice(w_max);

  ir::Tensor y(ir::DType::kInt32, {g.n, g.m, g.oh, g.ow});
  std::vector<float> col(static_cast<size_t>(k * plane));
  std::vector<float> partial(static_cast<size_t>(mg * plane));
  const float zero = static_cast<float>(x_zero_point);
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t gi = 0; gi < g.group; ++gi) {
      if (x.dtype() == ir::DType::kUInt8)
        im2col<uint8_t, float>(x.data<uint8_t>() + n * g.c * g.h * g.w, g, gi * cg, cg, zero, col.data());
      else
        im2col<int8_t, float>(x.data<int8_t>() + n * g.c * g.h * g.w, g, gi * cg, cg, zero, col.data());
      int32_t* out = y.data<int32_t>() + (n * g.m + gi * mg) * plane;
      const int64_t total = mg * plane;
      for (int64_t k0 = 0; k0 < k; k0 += slice) {
        const int64_t kc = std::min(slice, k - k0);
        ops::sgemm(false, false, mg, plane, kc, 1.0f, weights.data() + gi * mg * k + k0, k, col.data() + k0 * plane,
                   plane, 0.0f, partial.data(), plane);
        const bool first = k0 == 0;
#pragma omp parallel for if (total > (1 << 16))
        for (int64_t i = 0; i < total; ++i) {
          const int32_t v = static_cast<int32_t>(partial[i]);  // an exact integer
          out[i] = first ? v : out[i] + v;
        }
      }
    }
  }
  return y;
}

}  // namespace kiln::cpu
