// 2-D convolution geometry shared by Conv and ConvInteger (attributes read and checked by
// ir::read_window) and im2col.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/cpu/ops/op_util.h"

namespace kiln::cpu {

struct ConvGeometry {
  int64_t n = 0, c = 0, h = 0, w = 0;  // input
  int64_t m = 0, kh = 0, kw = 0;       // output channels, kernel
  int64_t group = 1;
  int64_t stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  int64_t oh = 0, ow = 0;  // output
};

// For Conv / ConvInteger: x [N,C,H,W], w [M,C/group,kH,kW].
Result<ConvGeometry> conv_geometry(const ir::Node& node, const std::vector<int64_t>& x_shape,
                                   const std::vector<int64_t>& w_shape);

// Unfolds one image's channels [c0, c0+cg) into col [cg*kh*kw, oh*ow], writing (x - zero)
// for in-bounds taps and 0 for padding (padding equals the zero point).
template <typename S, typename D>
void im2col(const S* image, const ConvGeometry& g, int64_t c0, int64_t cg, D zero, D* col) {
  const int64_t rows = cg * g.kh * g.kw;
  const int64_t plane = g.oh * g.ow;
#pragma omp parallel for if (rows * plane > (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = c0 + r / (g.kh * g.kw);
    const int64_t ky = (r / g.kw) % g.kh;
    const int64_t kx = r % g.kw;
    const S* src = image + c * g.h * g.w;
    D* dst = col + r * plane;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
      D* row = dst + oy * g.ow;
      if (iy < 0 || iy >= g.h) {
        for (int64_t ox = 0; ox < g.ow; ++ox) row[ox] = D{0};
        continue;
      }
      const S* srow = src + iy * g.w;
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const int64_t ix = ox * g.stride_w - g.pad_l + kx * g.dil_w;
        row[ox] = (ix >= 0 && ix < g.w) ? static_cast<D>(srow[ix]) - zero : D{0};
      }
    }
  }
}

}  // namespace kiln::cpu
