// FFmpeg's CUDA device for NVDEC on the device's primary context: the context the CUDA
// runtime, and so kiln's engines, use. FFmpeg's own AV_CUDA_USE_PRIMARY_CONTEXT insists on
// CU_CTX_SCHED_BLOCKING_SYNC and refuses ("Operation not supported") once the runtime has
// created that context with its default flags, which it has whenever a model is loaded
// before its video is opened; a context of FFmpeg's own would hold frames kiln's kernels
// cannot read. So kiln retains the primary context itself, as it is, and hands it to FFmpeg.
#pragma once

#include <string>

struct AVBufferRef;

namespace kiln::video {

// An AV_HWDEVICE_TYPE_CUDA device context for CUDA device `device` in *out; on failure the
// reason ("" on success). Built without CUDA: always a reason.
std::string create_cuda_device(int device, AVBufferRef** out);

}  // namespace kiln::video
