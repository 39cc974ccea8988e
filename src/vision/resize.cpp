#include "vision/resize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace kiln::vision {

namespace {

constexpr int kChannels = 3;
constexpr int kCoefBits = 11;  // INTER_RESIZE_COEF_BITS
constexpr int kCoefScale = 1 << kCoefBits;

// One axis of the filter: for each destination index the first source index and the two
// 11-bit weights, computed with OpenCV's float arithmetic.
struct AxisTable {
  std::vector<int> first;
  std::vector<short> w0, w1;
  int clamp_begin = 0;  // indices below it read only the first source sample
  int clamp_end = 0;    // indices from it on read only the last source sample
};

AxisTable make_axis(int src_size, int dst_size) {
  AxisTable t;
  t.first.resize(dst_size);
  t.w0.resize(dst_size);
  t.w1.resize(dst_size);
  t.clamp_end = dst_size;
  const double inv_scale = static_cast<double>(dst_size) / src_size;
  const double scale = 1.0 / inv_scale;
  for (int d = 0; d < dst_size; ++d) {
    float f = static_cast<float>((d + 0.5) * scale - 0.5);
    int s = static_cast<int>(std::floor(f));
    f -= static_cast<float>(s);
    if (s < 0) {
      t.clamp_begin = d + 1;
    }
    if (s + 1 >= src_size) t.clamp_end = std::min(t.clamp_end, d);
    t.first[d] = s;
    // saturate_cast<short>(float) rounds half to even (lrint in the default FP mode).
    t.w0[d] = static_cast<short>(std::lrint((1.f - f) * kCoefScale));
    t.w1[d] = static_cast<short>(std::lrint(f * kCoefScale));
  }
  return t;
}

// Horizontal pass of one source row into int sums scaled by 2^11 (HResizeLinear).
// Outside [clamp_begin, clamp_end) OpenCV uses the edge sample times 2^11.
void horizontal_pass(const uint8_t* src, int src_width, const AxisTable& x, int* out) {
  const int dst_width = static_cast<int>(x.first.size());
  for (int d = 0; d < dst_width; ++d) {
    int* o = out + d * kChannels;
    if (d < x.clamp_begin || d >= x.clamp_end) {
      int s = std::clamp(x.first[d], 0, src_width - 1);
      for (int c = 0; c < kChannels; ++c) o[c] = src[s * kChannels + c] * kCoefScale;
      continue;
    }
    const uint8_t* p = src + x.first[d] * kChannels;
    for (int c = 0; c < kChannels; ++c) o[c] = p[c] * x.w0[d] + p[c + kChannels] * x.w1[d];
  }
}

// Vertical pass, as OpenCV's SIMD VResizeLinearVec_32s8u computes it: each sum shifted
// right by 4 and packed to int16, the high half of its product with the 16-bit weight,
// then a rounding shift by 2. This differs from the scalar FixedPtCast formula
// ((S0*b0 + S1*b1 + 2^21) >> 22) in the last bit; cv2 5.0 on x86 gives the SIMD result
// for every value of a row, including the remainder a scalar loop would see (the
// letterbox test's 483-pixel-wide case pins this).
void vertical_pass(const int* r0, const int* r1, short b0, short b1, int count, uint8_t* out) {
  for (int i = 0; i < count; ++i) {
    int a = ((r0[i] >> 4) * b0) >> 16;
    int b = ((r1[i] >> 4) * b1) >> 16;
    out[i] = static_cast<uint8_t>(std::clamp((a + b + 2) >> 2, 0, 255));
  }
}

Image resize_bilinear(const Image& src, int dst_width, int dst_height) {
  Image dst(dst_width, dst_height);
  const AxisTable x = make_axis(src.width, dst_width);
  const AxisTable y = make_axis(src.height, dst_height);
  const int row_values = dst_width * kChannels;
  std::vector<int> rows[2] = {std::vector<int>(row_values), std::vector<int>(row_values)};
  int cached[2] = {-1, -1};
  auto source_row = [&](int slot, int sy) -> const int* {
    if (cached[slot] != sy) {
      horizontal_pass(src.row(sy), src.width, x, rows[slot].data());
      cached[slot] = sy;
    }
    return rows[slot].data();
  };
  for (int d = 0; d < dst_height; ++d) {
    // Unlike the horizontal pass, the vertical one keeps its weights at the borders and
    // clamps the row indices instead.
    int s0 = std::clamp(y.first[d], 0, src.height - 1);
    int s1 = std::clamp(y.first[d] + 1, 0, src.height - 1);
    const int* r0 = source_row(0, s0);
    const int* r1 = source_row(1, s1);
    vertical_pass(r0, r1, y.w0[d], y.w1[d], row_values, dst.row(d));
  }
  return dst;
}

// OpenCV turns INTER_LINEAR with an exact factor-2 downscale into INTER_AREA's fast path:
// the rounded mean of each 2x2 block.
Image resize_half(const Image& src, int dst_width, int dst_height) {
  Image dst(dst_width, dst_height);
  for (int d = 0; d < dst_height; ++d) {
    const uint8_t* a = src.row(2 * d);
    const uint8_t* b = src.row(2 * d + 1);
    uint8_t* o = dst.row(d);
    for (int i = 0; i < dst_width; ++i)
      for (int c = 0; c < kChannels; ++c) {
        int k = 2 * i * kChannels + c;
        o[i * kChannels + c] = static_cast<uint8_t>((a[k] + a[k + kChannels] + b[k] + b[k + kChannels] + 2) >> 2);
      }
  }
  return dst;
}

}  // namespace

Image resize_linear(const Image& src, int dst_width, int dst_height) {
  if (dst_width == src.width && dst_height == src.height) return src;
  // OpenCV's is_area_fast test with an integer scale of 2 on both axes.
  auto is_half = [](int src_size, int dst_size) {
    double scale = 1.0 / (static_cast<double>(dst_size) / src_size);
    return std::abs(scale - 2.0) < std::numeric_limits<double>::epsilon();
  };
  if (is_half(src.width, dst_width) && is_half(src.height, dst_height))
    return resize_half(src, dst_width, dst_height);
  return resize_bilinear(src, dst_width, dst_height);
}

}  // namespace kiln::vision
