// Fills a Triton response with the outputs its request asked for (tensor_names.h), from the
// predictions of the request's images. Per image, COUNT says how many rows of the padded
// per-detection outputs are real.
#pragma once

#include <span>
#include <string>

#include "kiln/prediction.h"
#include "kiln/status.h"
#include "triton_api.h"

namespace kiln::triton {

Status write_outputs(TRITONBACKEND_Request* request, TRITONBACKEND_Response* response,
                     std::span<const Prediction> predictions, const std::string& task);

}  // namespace kiln::triton
