// The per-pair arithmetic of the CPU decoders (vision/nms.cpp box_iou, vision/obb.cpp
// probiou) for device code, operation for operation in float32 so that, compiled without
// FMA contraction, the NMS decisions are the CPU's.
#pragma once

namespace kiln::vision_cuda {

// std::max / std::clamp semantics (NaN handling included), unlike fmaxf / fminf.
__device__ inline float std_max(float a, float b) { return a < b ? b : a; }
__device__ inline float std_min(float a, float b) { return b < a ? b : a; }
__device__ inline float std_clamp(float v, float lo, float hi) { return v < lo ? lo : (hi < v ? hi : v); }

__device__ inline float box_area(const float* b) { return (b[2] - b[0]) * (b[3] - b[1]); }

__device__ inline float box_iou(const float* a, const float* b) {
  const float w = std_max(0.f, std_min(a[2], b[2]) - std_max(a[0], b[0]));
  const float h = std_max(0.f, std_min(a[3], b[3]) - std_max(a[1], b[1]));
  const float inter = w * h;
  return inter / (box_area(a) + box_area(b) - inter);
}

struct RBox {
  float cx, cy, w, h, angle;
};

struct Cov {
  float a, b, c;
};

__device__ inline Cov covariance(const RBox& r) {
  const float a = r.w * r.w / 12.f, b = r.h * r.h / 12.f;
  const float cos = cosf(r.angle), sin = sinf(r.angle);
  const float cos2 = cos * cos, sin2 = sin * sin;
  return {a * cos2 + b * sin2, a * sin2 + b * cos2, (a - b) * cos * sin};
}

__device__ inline float probiou_with(const RBox& p, const Cov& s, const RBox& q, const Cov& t) {
  constexpr float eps = 1e-7f;
  const float a = s.a + t.a, b = s.b + t.b, c = s.c + t.c;
  const float dx = p.cx - q.cx, dy = p.cy - q.cy;
  const float denom = a * b - c * c + eps;
  const float t1 = (a * dy * dy + b * dx * dx) / denom * 0.25f;
  const float t2 = (c * (q.cx - p.cx) * dy) / denom * 0.5f;
  const float dets = std_max(s.a * s.b - s.c * s.c, 0.f) * std_max(t.a * t.b - t.c * t.c, 0.f);
  const float t3 = logf((a * b - c * c) / (4.f * sqrtf(dets) + eps) + eps) * 0.5f;
  const float bd = std_clamp(t1 + t2 + t3, eps, 100.f);
  const float hd = sqrtf(1.f - expf(-bd) + eps);
  return 1.f - hd;
}

}  // namespace kiln::vision_cuda
