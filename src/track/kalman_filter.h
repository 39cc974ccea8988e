// The constant-velocity Kalman filters of Ultralytics' trackers over an 8-dimensional state
// (4 box values and their velocities): ByteTrack measures (cx, cy, aspect w/h, h), BoT-SORT
// (cx, cy, w, h). Process and measurement noise scale with the box size as there.
#pragma once

#include <array>

namespace kiln::track {

enum class BoxState { kXyah, kXywh };

using Vec4 = std::array<double, 4>;
using Vec8 = std::array<double, 8>;
using Mat8 = std::array<double, 64>;  // row-major

struct KalmanState {
  Vec8 mean{};
  Mat8 covariance{};
};

// STrack.multi_gmc on one state: a camera warp (row-major 2x3 affine, track/gmc.h) applied
// to the box centre and, through its 2x2 part, to every (x, y)-like pair of the mean and
// the covariance.
void warp_state(KalmanState& s, const std::array<double, 6>& warp);

class KalmanFilter {
 public:
  explicit KalmanFilter(BoxState kind) : kind_(kind) {}

  KalmanState initiate(const Vec4& measurement) const;
  void predict(KalmanState& s) const;
  void update(KalmanState& s, const Vec4& measurement) const;

 private:
  BoxState kind_;
};

}  // namespace kiln::track
