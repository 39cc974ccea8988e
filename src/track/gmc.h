// BoT-SORT's global motion compensation as Ultralytics 8.4.50's GMC (trackers/utils/gmc.py):
// the camera's motion from the previous frame to this one as a 2x3 affine warp, estimated
// on a grey frame downscaled by 2 with OpenCV, the library the reference uses, call for call
// (sparseOptFlow: corners + pyramidal Lucas-Kanade; orb / sift: keypoints outside the
// detections, ratio-tested matches; RANSAC partial-affine fits; ecc: findTransformECC,
// Euclidean). A CPU step, as in Ultralytics: it takes host pixels. Built only with OpenCV
// (KILN_OPENCV); without it every method but none is refused.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "kiln/image.h"
#include "kiln/prediction.h"
#include "kiln/status.h"
#include "track/tracker_config.h"

namespace kiln::track {

// Row-major 2x3: x' = w[0] x + w[1] y + w[2], y' = w[3] x + w[4] y + w[5] (frame pixels).
using Warp = std::array<double, 6>;
inline constexpr Warp kIdentityWarp = {1, 0, 0, 0, 1, 0};

// True when kiln was built with OpenCV, which every gmc_method but none needs.
bool motion_compensation_available();

// InvalidArgument "gmc_method <m> needs kiln built with OpenCV" where that is missing.
Status check_motion_compensation(GmcMethod method);

class MotionCompensation {
 public:
  // Fails as check_motion_compensation does.
  static Result<MotionCompensation> create(GmcMethod method);
  MotionCompensation(MotionCompensation&&) noexcept;
  MotionCompensation& operator=(MotionCompensation&&) noexcept;
  ~MotionCompensation();

  // The warp from the previous frame to `frame` (8-bit, 3 channels, any size): the identity
  // for the first frame and wherever Ultralytics' tracker falls back to it (too few points,
  // no fit, an OpenCV error), the previous frame kept exactly where Ultralytics keeps it.
  // `detections` (the frame's high-score boxes) are masked out of orb's and sift's keypoints.
  Warp apply(const ImageView& frame, const std::vector<Box>& detections);

  // A new sequence: the next frame is a first frame again.
  void reset();

 private:
  struct State;
  explicit MotionCompensation(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace kiln::track
