// The exact integer convolution under ConvInteger and QConvInt8.
#pragma once

#include <vector>

#include "backends/cpu/ops/conv_geometry.h"

namespace kiln::cpu {

// (x - x_zero_point) conv (w - w_zero_point[m]) as int32 [N,M,OH,OW], for int8 / uint8 x and
// w, exactly: sgemm over slices of the reduction short enough that every partial sum is an
// integer below 2^24 (so float holds it exactly in any summation order), the slices' results
// added in int32.
ir::Tensor integer_conv(const ConvGeometry& g, const ir::Tensor& x, const ir::Tensor& w, double x_zero_point,
                        const std::vector<double>& w_zero_points);

}  // namespace kiln::cpu
