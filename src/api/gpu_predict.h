// Model::predict on the GPU for a CUDA engine (CUDA builds only): pinned staging, one
// stream, letterbox kernel into the context's input, the engine (one prepared batch, or
// several side by side: cuda::BatchContext), decode kernels, the
// kept items read from mapped host memory after one sync (segment masks: a second pass
// once the detections are known).
#pragma once

#include <memory>

#include "api/runner.h"
#include "backends/cuda/batch_context.h"

namespace kiln::api {

// Where a frame plane's pixels live, as cudaPointerGetAttributes says: device or managed
// memory on cuda:gpu, or not (host memory, or a pointer CUDA does not know).
struct PlaneMemory {
  bool device = false;   // device or managed memory
  bool managed = false;  // managed memory (readable from the host too)
  int gpu = 0;
};
PlaneMemory plane_memory(const void* plane);

// DevicePredictor::check_memory for a model on cuda:device (plane_memory).
Status check_frame_memory(std::span<const Frame> frames, int device);

Result<std::unique_ptr<DevicePredictor>> make_gpu_predictor(cuda::BatchContext& context, int device);

}  // namespace kiln::api
