#include "vision/classify.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kiln::vision {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's fixed point for 8-bit images

// Pillow's precompute_coeffs with the bilinear (triangle) filter, then
// normalize_coeffs_8bpc: per output pixel the first source index and its weights.
struct Taps {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int> weights;  // out_size * ksize, fixed point
};

Taps pil_taps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  Taps t;
  t.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size), t.count.resize(out_size);
  t.weights.assign(static_cast<size_t>(out_size) * t.ksize, 0);
  std::vector<double> k(t.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);  // truncation, as C's (int)
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      double d = std::abs((x + xmin - center + 0.5) * ss);
      k[x] = d < 1.0 ? 1.0 - d : 0.0;
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
      const double scaled = k[x] * (1 << kPrecisionBits);
      t.weights[static_cast<size_t>(xx) * t.ksize + x] = static_cast<int>(k[x] < 0 ? -0.5 + scaled : 0.5 + scaled);
    }
    t.first[xx] = xmin, t.count[xx] = xmax;
  }
  return t;
}

uint8_t clip8(int v) {
  if (v >= (255 << kPrecisionBits)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPrecisionBits);
}

}  // namespace

Image resize_pil_bilinear(const Image& src, int dst_width, int dst_height) {
  if (src.width == dst_width && src.height == dst_height) return src;
  const Taps tx = pil_taps(src.width, dst_width), ty = pil_taps(src.height, dst_height);
  // Horizontal pass over every source row (Pillow limits it to the rows the vertical pass
  // reads, which gives the same values).
  Image mid = src;
  if (dst_width != src.width) {
    mid = Image(dst_width, src.height);
    for (int y = 0; y < src.height; ++y) {
      const uint8_t* in = src.row(y);
      uint8_t* out = mid.row(y);
      for (int x = 0; x < dst_width; ++x) {
        const int* w = tx.weights.data() + static_cast<size_t>(x) * tx.ksize;
        for (int c = 0; c < 3; ++c) {
          int ss = 1 << (kPrecisionBits - 1);
          for (int i = 0; i < tx.count[x]; ++i) ss += in[3 * (tx.first[x] + i) + c] * w[i];
          out[3 * x + c] = clip8(ss);
        }
      }
    }
  }
  if (dst_height == src.height) return mid;
  Image dst(dst_width, dst_height);
  for (int y = 0; y < dst_height; ++y) {
    const int* w = ty.weights.data() + static_cast<size_t>(y) * ty.ksize;
    uint8_t* out = dst.row(y);
    for (int x = 0; x < dst_width * 3; ++x) {
      int ss = 1 << (kPrecisionBits - 1);
      for (int i = 0; i < ty.count[y]; ++i) ss += mid.row(ty.first[y] + i)[x] * w[i];
      out[x] = clip8(ss);
    }
  }
  return dst;
}

Image classify_crop(const Image& image, int size) {
  const bool portrait = image.width <= image.height;
  const int short_side = portrait ? image.width : image.height;
  const int long_side = portrait ? image.height : image.width;
  const int new_long = static_cast<int>(static_cast<double>(size) * long_side / short_side);
  const int new_w = portrait ? size : new_long, new_h = portrait ? new_long : size;
  const Image resized = resize_pil_bilinear(image, new_w, new_h);
  // torchvision center_crop: int(round((side - size) / 2.0)), Python rounding.
  const int top = static_cast<int>(std::nearbyint((new_h - size) / 2.0));
  const int left = static_cast<int>(std::nearbyint((new_w - size) / 2.0));
  Image out(size, size);
  for (int y = 0; y < size; ++y)
    std::copy_n(resized.row(y + top) + 3 * left, 3 * size, out.row(y));
  return out;
}

void softmax(std::span<float> values) {
  if (values.empty()) return;
  const float mx = *std::max_element(values.begin(), values.end());
  float sum = 0.f;
  for (float& v : values) sum += (v = std::exp(v - mx));
  for (float& v : values) v /= sum;
}

std::vector<ClassScore> top_k(std::span<const float> probabilities, int k) {
  std::vector<int> order(probabilities.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t n = std::min(order.size(), static_cast<size_t>(std::max(k, 0)));
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(), [&](int a, int b) {
    return probabilities[a] > probabilities[b] || (probabilities[a] == probabilities[b] && a < b);
  });
  std::vector<ClassScore> out;
  for (size_t i = 0; i < n; ++i) out.push_back({order[i], probabilities[order[i]]});
  return out;
}

}  // namespace kiln::vision
