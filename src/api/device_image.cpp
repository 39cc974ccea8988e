// to_image of a device frame: converted to BGR on its GPU (vision_cuda/frame_bgr_gpu.h), one
// DMA copy to page-locked memory, then into the Image. A video loop that draws or crops on
// the host takes its decoder's frames this way; converting NV12 on the CPU cost a 1080p
// frame several milliseconds. Compiled in every build; without KILN_API_CUDA it only says
// that this kiln has no CUDA.
#include "api/image_convert.h"

#if KILN_API_CUDA
#include <cuda_runtime.h>

#include "api/gpu_predict.h"
#include "vision_cuda/buffers.h"
#include "vision_cuda/frame_bgr_gpu.h"
#endif

namespace kiln::api {

#if KILN_API_CUDA

namespace {

using vision_cuda::cuda_check;

// Selects `device` for the calling thread until it goes out of scope.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    cudaGetDevice(&previous_);
    ok_ = cudaSetDevice(device) == cudaSuccess;
  }
  ~DeviceScope() { cudaSetDevice(previous_); }
  bool ok() const { return ok_; }

 private:
  int previous_ = 0;
  bool ok_ = false;
};

}  // namespace

Result<Image> device_frame_to_image(const Frame& frame) {
  int device = 0;
  for (int p = 0; p < (frame.format == PixelFormat::kNv12 ? 2 : 1); ++p) {
    const PlaneMemory m = plane_memory(frame.planes[p]);
    if (!m.device)
      return error(StatusCode::kInvalidArgument, "frame ", frame.width, "x", frame.height, ": plane ", p,
                   " is not device memory (the frame says device)");
    if (p > 0 && m.gpu != device)
      return error(StatusCode::kInvalidArgument, "frame ", frame.width, "x", frame.height, ": plane ", p, " is on cuda:",
                   m.gpu, ", plane 0 on cuda:", device);
    device = m.gpu;
  }
  DeviceScope scope(device);
  if (!scope.ok()) return error(StatusCode::kInternal, "frame on cuda:", device, ": cannot select that GPU");
  // Per thread, grown to the largest frame seen: a video loop converts one frame after another.
  thread_local vision_cuda::DeviceBuffer bgr;
  thread_local vision_cuda::PinnedBuffer staged;
  const size_t bytes = static_cast<size_t>(frame.width) * frame.height * 3;
  KILN_RETURN_IF_ERROR(bgr.reserve(bytes));
  KILN_RETURN_IF_ERROR(staged.reserve(bytes));
  auto stream = static_cast<cudaStream_t>(frame.stream);
  const vision_cuda::SourceImage src{{frame.planes[0], frame.planes[1]}, {frame.pitch[0], frame.pitch[1]}, frame.format};
  KILN_RETURN_IF_ERROR(vision_cuda::to_bgr(src, frame.width, frame.height, bgr.as<uint8_t>(), stream));
  KILN_RETURN_IF_ERROR(cuda_check(cudaMemcpyAsync(staged.as<uint8_t>(), bgr.as<uint8_t>(), bytes, cudaMemcpyDeviceToHost, stream),
                                  "frame to the host"));
  KILN_RETURN_IF_ERROR(cuda_check(cudaStreamSynchronize(stream), "frame to the host"));
  Image image;  // filled once, from the staged pixels (not zeroed first)
  image.width = frame.width, image.height = frame.height;
  image.pixels.assign(staged.as<uint8_t>(), staged.as<uint8_t>() + bytes);
  return image;
}

#else

Result<Image> device_frame_to_image(const Frame& frame) {
  return error(StatusCode::kUnsupported, "frame ", frame.width, "x", frame.height,
               " is in device memory; this kiln was built without CUDA");
}

#endif

}  // namespace kiln::api
