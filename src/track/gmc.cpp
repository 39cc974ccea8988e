#include "track/gmc.h"

namespace kiln::track {

Status check_motion_compensation(GmcMethod method) {
  if (method == GmcMethod::kNone || motion_compensation_available()) return Status::Ok();
  return error(StatusCode::kInvalidArgument, "gmc_method ", gmc_method_name(method),
               " needs kiln built with OpenCV (KILN_OPENCV); use gmc_method: none");
}

}  // namespace kiln::track
