// Frames as decoders and cameras hand them over: planes with a pitch, in host or device
// memory, BGR, RGB or NV12 (a video decoder's native 4:2:0 layout, NVDEC's output). A
// Frame only describes pixels the caller owns; Model::predict reads them during the call.
//
// Streams and threads: for a device frame, `stream` is the CUDA stream (cudaStream_t) on
// which its pixels are ready; predict launches the one kernel that converts and letterboxes
// the frame into the model's input on that stream, orders the rest of its work after it,
// and returns once the results are on the host, so the caller may reuse or free the frame
// when predict returns. nullptr is CUDA's legacy default stream. As for images, a Model
// may be called from several threads at once, each call with its own frames.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kiln/image.h"
#include "kiln/status.h"

namespace kiln {

enum class PixelFormat {
  kBgr,   // packed 8-bit B, G, R (OpenCV's order)
  kRgb,   // packed 8-bit R, G, B
  kNv12,  // plane 0: 8-bit Y (width x height); plane 1: interleaved U, V at half
          // resolution (width x height / 2 bytes); BT.601 limited range, as FFmpeg's
          // swscale converts decoded video; even width and height
};

enum class FrameMemory { kHost, kDevice };

struct Frame {
  int width = 0, height = 0;
  PixelFormat format = PixelFormat::kBgr;
  FrameMemory memory = FrameMemory::kHost;
  const uint8_t* planes[2] = {nullptr, nullptr};  // BGR / RGB: planes[0] only
  size_t pitch[2] = {0, 0};                        // bytes from one row of a plane to the next
  void* stream = nullptr;                          // device frames: the cudaStream_t (see above)
};

// A host frame over an Image's pixels (BGR, packed).
inline Frame frame_of(const Image& image) {
  Frame f;
  f.width = image.width, f.height = image.height;
  f.planes[0] = image.pixels.data();
  f.pitch[0] = static_cast<size_t>(image.width) * 3;
  return f;
}

// A frame as a BGR Image (NV12 converted as predict converts it). A device frame is
// converted on its GPU and copied to the host once its stream is done (a kiln without CUDA:
// Unsupported). A null plane, a pitch shorter than a row, an NV12 frame of odd size, or a
// device frame whose planes are not device memory: InvalidArgument.
Result<Image> to_image(const Frame& frame);

}  // namespace kiln
