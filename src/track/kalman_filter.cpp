#include "track/kalman_filter.h"

#include <cmath>

namespace kiln::track {

namespace {

constexpr double kWeightPosition = 1.0 / 20;
constexpr double kWeightVelocity = 1.0 / 160;

// Solves S X = B for X (S 4x4 symmetric positive definite, B 4x8) through its Cholesky factor.
void cholesky_solve(const std::array<double, 16>& s, std::array<double, 32>& b) {
  std::array<double, 16> l{};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j <= i; ++j) {
      double sum = s[i * 4 + j];
      for (int k = 0; k < j; ++k) sum -= l[i * 4 + k] * l[j * 4 + k];
      l[i * 4 + j] = i == j ? std::sqrt(sum) : sum / l[j * 4 + j];
    }
  for (int c = 0; c < 8; ++c) {
    double z[4];
    for (int i = 0; i < 4; ++i) {
      double sum = b[i * 8 + c];
      for (int k = 0; k < i; ++k) sum -= l[i * 4 + k] * z[k];
      z[i] = sum / l[i * 4 + i];
    }
    for (int i = 3; i >= 0; --i) {
      double sum = z[i];
      for (int k = i + 1; k < 4; ++k) sum -= l[k * 4 + i] * b[k * 8 + c];
      b[i * 8 + c] = sum / l[i * 4 + i];
    }
  }
}

}  // namespace

// mean <- R8 mean + (t, 0...), cov <- R8 cov R8^T with R8 = kron(I4, R): only the 2x2 blocks
// on R8's diagonal are non-zero, so each sum below has the two terms NumPy's dot adds to zeros.
void warp_state(KalmanState& s, const std::array<double, 6>& warp) {
  const double r[2][2] = {{warp[0], warp[1]}, {warp[3], warp[4]}};
  Vec8 mean;
  for (int i = 0; i < 8; ++i) {
    const int b = i & ~1, a = i & 1;
    mean[i] = r[a][0] * s.mean[b] + r[a][1] * s.mean[b + 1];
  }
  mean[0] += warp[2];
  mean[1] += warp[5];
  s.mean = mean;
  Mat8 rc, out;  // R8 cov, then (R8 cov) R8^T
  for (int i = 0; i < 8; ++i) {
    const int b = i & ~1, a = i & 1;
    for (int j = 0; j < 8; ++j) rc[i * 8 + j] = r[a][0] * s.covariance[b * 8 + j] + r[a][1] * s.covariance[(b + 1) * 8 + j];
  }
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) {
      const int b = j & ~1, a = j & 1;
      out[i * 8 + j] = rc[i * 8 + b] * r[a][0] + rc[i * 8 + b + 1] * r[a][1];
    }
  s.covariance = out;
}

KalmanState KalmanFilter::initiate(const Vec4& m) const {
  KalmanState s;
  for (int i = 0; i < 4; ++i) s.mean[i] = m[i];
  const double w = kind_ == BoxState::kXywh ? m[2] : 0, h = m[3];
  const double std[8] = {2 * kWeightPosition * (kind_ == BoxState::kXywh ? w : h),
                         2 * kWeightPosition * h,
                         kind_ == BoxState::kXywh ? 2 * kWeightPosition * w : 1e-2,
                         2 * kWeightPosition * h,
                         10 * kWeightVelocity * (kind_ == BoxState::kXywh ? w : h),
                         10 * kWeightVelocity * h,
                         kind_ == BoxState::kXywh ? 10 * kWeightVelocity * w : 1e-5,
                         10 * kWeightVelocity * h};
  for (int i = 0; i < 8; ++i) s.covariance[i * 9] = std[i] * std[i];
  return s;
}

void KalmanFilter::predict(KalmanState& s) const {
  const double w = s.mean[2], h = s.mean[3];
  const bool xywh = kind_ == BoxState::kXywh;
  const double std[8] = {kWeightPosition * (xywh ? w : h), kWeightPosition * h,
                         xywh ? kWeightPosition * w : 1e-2, kWeightPosition * h,
                         kWeightVelocity * (xywh ? w : h),  kWeightVelocity * h,
                         xywh ? kWeightVelocity * w : 1e-5, kWeightVelocity * h};
  for (int i = 0; i < 4; ++i) s.mean[i] += s.mean[i + 4];
  // F P F^T with F = [I I; 0 I]: rows then columns i += i + 4.
  Mat8& p = s.covariance;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j) p[i * 8 + j] += p[(i + 4) * 8 + j];
  for (int j = 0; j < 4; ++j)
    for (int i = 0; i < 8; ++i) p[i * 8 + j] += p[i * 8 + j + 4];
  for (int i = 0; i < 8; ++i) p[i * 9] += std[i] * std[i];
}

void KalmanFilter::update(KalmanState& s, const Vec4& m) const {
  const double w = s.mean[2], h = s.mean[3];
  const bool xywh = kind_ == BoxState::kXywh;
  const double std[4] = {kWeightPosition * (xywh ? w : h), kWeightPosition * h, xywh ? kWeightPosition * w : 1e-1,
                         kWeightPosition * h};
  const Mat8& p = s.covariance;
  std::array<double, 16> projected{};  // H P H^T + R
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) projected[i * 4 + j] = p[i * 8 + j] + (i == j ? std[i] * std[i] : 0);
  std::array<double, 32> gain_t{};  // (P H^T)^T, solved in place into K^T = S^-1 H P
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j) gain_t[i * 8 + j] = p[i * 8 + j];
  cholesky_solve(projected, gain_t);
  double innovation[4];
  for (int i = 0; i < 4; ++i) innovation[i] = m[i] - s.mean[i];
  for (int j = 0; j < 8; ++j) {
    double sum = 0;
    for (int i = 0; i < 4; ++i) sum += innovation[i] * gain_t[i * 8 + j];
    s.mean[j] += sum;
  }
  // P - K S K^T, with K S = P H^T (the gain's definition): P - (P H^T) K^T.
  Mat8 next = p;
  for (int a = 0; a < 8; ++a)
    for (int b = 0; b < 8; ++b) {
      double sum = 0;
      for (int i = 0; i < 4; ++i) sum += p[a * 8 + i] * gain_t[i * 8 + b];
      next[a * 8 + b] -= sum;
    }
  s.covariance = next;
}

}  // namespace kiln::track
