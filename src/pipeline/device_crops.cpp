#include "pipeline/device_crops.h"

#if KILN_PIPELINE_CUDA
#include "pipeline/stage.h"
#include "vision_cuda/letterbox_gpu.h"
#endif

namespace kiln::pipeline {

Status check_device_frame(const Frame& frame) {
  if (frame.memory != FrameMemory::kDevice)
    return error(StatusCode::kInvalidArgument, "a stage's device path takes frames in device memory, got a host frame");
  const int planes = frame.format == PixelFormat::kNv12 ? 2 : 1;
  for (int p = 0; p < planes; ++p)
    if (!frame.planes[p] || frame.pitch[p] == 0)
      return error(StatusCode::kInvalidArgument, "device frame: plane ", p, " has no pixels or no pitch");
  if (frame.width < 1 || frame.height < 1)
    return error(StatusCode::kInvalidArgument, "device frame of ", frame.width, "x", frame.height, " pixels");
  return Status::Ok();
}

#if KILN_PIPELINE_CUDA

DeviceInput crops_input(const Frame& frame, std::span<const vision::CropPlacement> crops, std::vector<int64_t> shape,
                        CropScaling scaling) {
  vision_cuda::InputScaling s;
  if (scaling == CropScaling::kImagenet) {
    s.standardize = true;
    for (int c = 0; c < 3; ++c) s.mean[c] = kEmbedMean[c], s.std[c] = kEmbedStd[c];
  }
  const vision_cuda::SourceImage src{{frame.planes[0], frame.planes[1]}, {frame.pitch[0], frame.pitch[1]}, frame.format};
  DeviceInput input;
  input.shape = std::move(shape);
  input.ready = frame.stream;
  input.fill = [src, crops, s](float* dst, size_t first, size_t n, void* stream) -> Status {
    std::vector<vision_cuda::LetterboxLayout> layouts;
    layouts.reserve(n);
    for (const vision::CropPlacement& c : crops.subspan(first, n)) layouts.push_back(vision_cuda::crop_layout(c));
    return vision_cuda::fit_crops(src, layouts, s, dst, static_cast<cudaStream_t>(stream));
  };
  return input;
}

#else

DeviceInput crops_input(const Frame& frame, std::span<const vision::CropPlacement>, std::vector<int64_t> shape,
                        CropScaling) {
  DeviceInput input;
  input.shape = std::move(shape);
  input.ready = frame.stream;
  input.fill = [](float*, size_t, size_t, void*) -> Status {
    return error(StatusCode::kUnsupported, "stage crops of a device frame: kiln was built without CUDA");
  };
  return input;
}

#endif

}  // namespace kiln::pipeline
