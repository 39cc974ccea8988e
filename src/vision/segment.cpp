#include "vision/segment.h"

#include <algorithm>
#include <cmath>

namespace kiln::vision {

namespace {

// Source indices and weights of one output axis, as PyTorch's CPU upsample computes
// them: scale = in / out in float, src = scale * (dst + 0.5) - 0.5 clamped at 0.
struct AxisTaps {
  std::vector<int> i0, i1;
  std::vector<float> w0, w1;
};

AxisTaps axis_taps(int in, int out) {
  AxisTaps t;
  t.i0.resize(out), t.i1.resize(out), t.w0.resize(out), t.w1.resize(out);
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int d = 0; d < out; ++d) {
    if (in == out) {
      t.i0[d] = t.i1[d] = d, t.w0[d] = 1.f, t.w1[d] = 0.f;
      continue;
    }
    float src = scale * (static_cast<float>(d) + 0.5f) - 0.5f;
    if (src < 0.f) src = 0.f;
    const int i0 = std::min(static_cast<int>(std::floor(src)), in - 1);
    const float l1 = std::clamp(src - static_cast<float>(i0), 0.f, 1.f);
    t.i0[d] = i0;
    t.i1[d] = i0 + (i0 < in - 1 ? 1 : 0);
    t.w1[d] = l1;
    t.w0[d] = 1.f - l1;
  }
  return t;
}

}  // namespace

int Mask::area() const {
  int n = 0;
  for (uint8_t p : pixels) n += p;
  return n;
}

void crop_mask(std::span<float> logits, int height, int width, const BoxXyxy& box) {
  // boxes.clamp(min=0).round().int(): torch.round rounds half to even, as nearbyint.
  auto corner = [](float v) { return static_cast<int>(std::nearbyint(std::max(v, 0.f))); };
  const int x1 = corner(box[0]), y1 = corner(box[1]), x2 = corner(box[2]), y2 = corner(box[3]);
  for (int y = 0; y < height; ++y) {
    float* row = logits.data() + static_cast<size_t>(y) * width;
    if (y < y1 || y >= y2) {
      std::fill(row, row + width, 0.f);
      continue;
    }
    for (int x = 0; x < width; ++x)
      if (x < x1 || x >= x2) row[x] = 0.f;
  }
}

std::vector<float> resize_bilinear(std::span<const float> src, int src_h, int src_w, int dst_h, int dst_w) {
  const AxisTaps ty = axis_taps(src_h, dst_h), tx = axis_taps(src_w, dst_w);
  std::vector<float> dst(static_cast<size_t>(dst_h) * dst_w);
  for (int y = 0; y < dst_h; ++y) {
    const float* r0 = src.data() + static_cast<size_t>(ty.i0[y]) * src_w;
    const float* r1 = src.data() + static_cast<size_t>(ty.i1[y]) * src_w;
    float* out = dst.data() + static_cast<size_t>(y) * dst_w;
    for (int x = 0; x < dst_w; ++x) {
      // Interpolate along x within each source row, then along y (PyTorch's order).
      const float top = r0[tx.i0[x]] * tx.w0[x] + r0[tx.i1[x]] * tx.w1[x];
      const float bottom = r1[tx.i0[x]] * tx.w0[x] + r1[tx.i1[x]] * tx.w1[x];
      out[x] = top * ty.w0[y] + bottom * ty.w1[y];
    }
  }
  return dst;
}

Mask process_mask(const Prototypes& protos, std::span<const float> coefficients, const BoxXyxy& input_box,
                  int input_h, int input_w) {
  const int ph = protos.height, pw = protos.width;
  const size_t plane = static_cast<size_t>(ph) * pw;
  // The box goes to prototype pixels with float32 ratios (mask width / input width).
  const float rw = static_cast<float>(static_cast<double>(pw) / input_w);
  const float rh = static_cast<float>(static_cast<double>(ph) / input_h);
  const BoxXyxy proto_box = {input_box[0] * rw, input_box[1] * rh, input_box[2] * rw, input_box[3] * rh};
  // Logits are needed only inside the crop: everything else becomes 0 in crop_mask.
  auto corner = [](float v, int hi) { return std::clamp(static_cast<int>(std::nearbyint(std::max(v, 0.f))), 0, hi); };
  const int x1 = corner(proto_box[0], pw), y1 = corner(proto_box[1], ph);
  const int x2 = corner(proto_box[2], pw), y2 = corner(proto_box[3], ph);
  std::vector<float> logits(plane, 0.f);
  for (int c = 0; c < protos.channels; ++c) {
    const float k = coefficients[c];
    const float* p = protos.data.data() + c * plane;
    for (int y = y1; y < y2; ++y)
      for (int x = x1; x < x2; ++x) logits[static_cast<size_t>(y) * pw + x] += k * p[static_cast<size_t>(y) * pw + x];
  }
  crop_mask(logits, ph, pw, proto_box);
  // Upsample (as resize_bilinear) only the output pixels with a tap inside the crop; the
  // others interpolate zeros and stay 0. sigmoid(x) > 0.5 is x > 0, what Ultralytics thresholds.
  const AxisTaps ty = axis_taps(ph, input_h), tx = axis_taps(pw, input_w);
  auto touches = [](const AxisTaps& t, int d, int lo, int hi) {
    return (t.i0[d] >= lo && t.i0[d] < hi) || (t.i1[d] >= lo && t.i1[d] < hi);
  };
  Mask mask{input_w, input_h, std::vector<uint8_t>(static_cast<size_t>(input_h) * input_w, 0)};
  for (int y = 0; y < input_h; ++y) {
    if (!touches(ty, y, y1, y2)) continue;
    const float* r0 = logits.data() + static_cast<size_t>(ty.i0[y]) * pw;
    const float* r1 = logits.data() + static_cast<size_t>(ty.i1[y]) * pw;
    uint8_t* out = mask.pixels.data() + static_cast<size_t>(y) * input_w;
    for (int x = 0; x < input_w; ++x) {
      if (!touches(tx, x, x1, x2)) continue;
      const float top = r0[tx.i0[x]] * tx.w0[x] + r0[tx.i1[x]] * tx.w1[x];
      const float bottom = r1[tx.i0[x]] * tx.w0[x] + r1[tx.i1[x]] * tx.w1[x];
      out[x] = top * ty.w0[y] + bottom * ty.w1[y] > 0.f ? 1 : 0;
    }
  }
  return mask;
}

std::vector<SegmentDetection> decode_segment(std::span<const float> raw, int num_anchors, int num_classes,
                                             const Prototypes& protos, const NmsOptions& options, int input_h,
                                             int input_w, int orig_h, int orig_w) {
  std::vector<SegmentDetection> out;
  std::vector<float> coefficients(protos.channels);
  for (const Candidate& c : select_candidates(raw, num_anchors, num_classes, options)) {
    for (int k = 0; k < protos.channels; ++k)
      coefficients[k] = raw[static_cast<size_t>(4 + num_classes + k) * num_anchors + c.anchor];
    Mask mask = process_mask(protos, coefficients, c.box, input_h, input_w);
    if (mask.area() == 0) continue;  // the predictor keeps only detections with a mask
    out.push_back({{c.class_id, c.score, scale_box(c.box, input_h, input_w, orig_h, orig_w)}, std::move(mask)});
  }
  return out;
}

Mask mask_to_image(const Mask& input_mask, int orig_h, int orig_w) {
  const int ih = input_mask.height, iw = input_mask.width;
  if (ih == orig_h && iw == orig_w) return input_mask;
  const double gain = std::min(static_cast<double>(ih) / orig_h, static_cast<double>(iw) / orig_w);
  const double pad_w = (iw - std::nearbyint(orig_w * gain)) / 2, pad_h = (ih - std::nearbyint(orig_h * gain)) / 2;
  const int top = static_cast<int>(std::nearbyint(pad_h - 0.1)), left = static_cast<int>(std::nearbyint(pad_w - 0.1));
  const int bottom = ih - static_cast<int>(std::nearbyint(pad_h + 0.1));
  const int right = iw - static_cast<int>(std::nearbyint(pad_w + 0.1));
  const int ch = bottom - top, cw = right - left;
  std::vector<float> cropped(static_cast<size_t>(ch) * cw);
  for (int y = 0; y < ch; ++y)
    for (int x = 0; x < cw; ++x)
      cropped[static_cast<size_t>(y) * cw + x] = input_mask.pixels[static_cast<size_t>(y + top) * iw + x + left];
  std::vector<float> up = resize_bilinear(cropped, ch, cw, orig_h, orig_w);
  Mask mask{orig_w, orig_h, std::vector<uint8_t>(up.size())};
  for (size_t i = 0; i < up.size(); ++i) mask.pixels[i] = up[i] > 0.5f ? 1 : 0;
  return mask;
}

}  // namespace kiln::vision
