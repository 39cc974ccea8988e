// Motion compensation in a kiln built without OpenCV (KILN_OPENCV=OFF or not found): only
// gmc_method none, whose warp is the identity.
#include "track/gmc.h"

namespace kiln::track {

struct MotionCompensation::State {};

bool motion_compensation_available() { return false; }

Result<MotionCompensation> MotionCompensation::create(GmcMethod method) {
  KILN_RETURN_IF_ERROR(check_motion_compensation(method));
  return MotionCompensation(std::make_unique<State>());
}

MotionCompensation::MotionCompensation(std::unique_ptr<State> state) : state_(std::move(state)) {}
MotionCompensation::MotionCompensation(MotionCompensation&&) noexcept = default;
MotionCompensation& MotionCompensation::operator=(MotionCompensation&&) noexcept = default;
MotionCompensation::~MotionCompensation() = default;

Warp MotionCompensation::apply(const ImageView&, const std::vector<Box>&) { return kIdentityWarp; }

void MotionCompensation::reset() {}

}  // namespace kiln::track
