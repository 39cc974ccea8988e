// Asks the CUDA runtime, cuDNN and cuBLASLt what they are and which GPUs exist. Only
// compiled in CUDA builds (KILN_ENGINE_CUDA); environment.cpp is the only caller.
#pragma once

#include "engine/environment.h"

namespace kiln::engine {

// Fills the driver/library versions and GPUs of `env`; sets env.no_gpu_reason when
// cudaGetDeviceCount fails or finds none.
void query_cuda(Environment& env);

}  // namespace kiln::engine
