// ProbIoU of two rotated boxes (Ultralytics' metrics.probiou), one definition for the CPU
// decoder (vision/obb.cpp) and the GPU one (vision_cuda): operation for operation in float32,
// so that, with the GPU code compiled without FMA contraction, both make the same NMS
// decisions.
#pragma once

#include <cmath>

#ifdef __CUDACC__
#define KILN_HOST_DEVICE __host__ __device__
#else
#define KILN_HOST_DEVICE
#endif

namespace kiln::vision {

// std::max / std::min / std::clamp semantics (NaN handling included), usable on the device.
KILN_HOST_DEVICE inline float std_max(float a, float b) { return a < b ? b : a; }
KILN_HOST_DEVICE inline float std_min(float a, float b) { return b < a ? b : a; }
KILN_HOST_DEVICE inline float std_clamp(float v, float lo, float hi) { return v < lo ? lo : (hi < v ? hi : v); }

// Covariance [[a, c], [c, b]] of a box's Gaussian (metrics._get_covariance_matrix).
struct Covariance {
  float a, b, c;
};

// Box: any type with float cx, cy, w, h, angle (radians).
template <typename Box>
KILN_HOST_DEVICE inline Covariance covariance(const Box& r) {
  const float a = r.w * r.w / 12.f, b = r.h * r.h / 12.f;
  const float cos = cosf(r.angle), sin = sinf(r.angle);
  const float cos2 = cos * cos, sin2 = sin * sin;
  return {a * cos2 + b * sin2, a * sin2 + b * cos2, (a - b) * cos * sin};
}

// ProbIoU of p and q given their covariances s and t (computed once per box by callers).
template <typename Box>
KILN_HOST_DEVICE inline float probiou_with(const Box& p, const Covariance& s, const Box& q, const Covariance& t) {
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

}  // namespace kiln::vision
