// Asks the CUDA runtime, cuDNN and cuBLASLt what they are and which GPUs exist, and the CUDA
// backend which architectures its kernels carry. Only compiled in CUDA builds
// (KILN_ENGINE_CUDA); environment.cpp is the only caller.
#pragma once

#include <string>

#include "engine/environment.h"

namespace kiln::engine {

// Fills the driver/library versions, the carried CUDA architectures and the GPUs of `env`;
// sets env.device_query_error when cudaGetDeviceCount fails for another reason than
// finding no device.
void query_cuda(Environment& env);

// "" when this build's kernels run on a GPU of `compute_capability` ("8.6"), else why not.
std::string cuda_unsupported_reason(const std::string& compute_capability);

}  // namespace kiln::engine
