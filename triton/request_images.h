// The images of one Triton request: IMAGE (encoded JPEG/PNG/BMP bytes, decoded here),
// FRAME (HWC uint8 BGR pixels, viewed in place in Triton's buffer) or TENSOR (preprocessed
// NCHW float32, copied). A malformed request is an InvalidArgument or Corrupt error for that
// request only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kiln/image.h"
#include "kiln/status.h"
#include "kiln/tensor.h"
#include "triton_api.h"

namespace kiln::triton {

struct RequestImages {
  std::vector<ImageView> views;  // one per image, in the request's batch order
  std::vector<Image> decoded;    // IMAGE: the decoded pixels the views point into
  std::vector<uint8_t> gathered; // FRAME split over several buffers: the bytes made contiguous
  Tensor tensor;                 // TENSOR: the preprocessed batch (shape empty otherwise)
  size_t count() const { return tensor.shape.empty() ? views.size() : static_cast<size_t>(tensor.shape[0]); }
};

// The views stay valid while the request is alive and the result is not destroyed (moving
// it keeps the vectors' storage).
Result<RequestImages> read_request_images(TRITONBACKEND_Request* request);

}  // namespace kiln::triton
