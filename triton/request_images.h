// The images of one Triton request: IMAGE (encoded JPEG/PNG/BMP bytes, decoded here, those
// of a whole batch of requests side by side), FRAME (HWC uint8 BGR pixels, viewed in place in
// Triton's buffer) or TENSOR (preprocessed NCHW float32, copied). A malformed request is an
// InvalidArgument or Corrupt error for that request only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "kiln/image.h"
#include "kiln/status.h"
#include "kiln/tensor.h"
#include "triton_api.h"

namespace kiln::triton {

struct RequestImages {
  std::vector<ImageView> views;  // one per image, in the request's batch order
  std::vector<std::span<const uint8_t>> encoded;  // IMAGE: each element's bytes, in the input
  std::vector<Image> decoded;    // IMAGE: the decoded pixels the views point into
  std::vector<uint8_t> gathered; // an input split over several buffers: the bytes made contiguous
  Tensor tensor;                 // TENSOR: the preprocessed batch (shape empty otherwise)
  size_t count() const { return tensor.shape.empty() ? views.size() : static_cast<size_t>(tensor.shape[0]); }
};

// The request's input, read through Triton's API (on the calling thread: the instance's).
// FRAME and TENSOR are ready; IMAGE's elements are split but not decoded (no views yet). The
// spans and views stay valid while the request is alive and the result is not destroyed
// (moving it keeps the vectors' storage).
Result<RequestImages> read_request_images(TRITONBACKEND_Request* request);

// Decodes the IMAGE elements of every request (nullopt: one already refused) side by side on
// the machine's cores (core::parallel_for), into each request's `decoded` and `views` in its
// order. Per request: Ok, or the error of its first undecodable element ("IMAGE[i]: not a
// decodable image (...)"), which refuses that request alone. Calls nothing of Triton's.
std::vector<Status> decode_request_images(std::span<std::optional<RequestImages>> requests);

}  // namespace kiln::triton
