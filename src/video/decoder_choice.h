// Where a video is decoded: on the CPU (FFmpeg's software decoder, frames converted to BGR
// with swscale) or on the GPU (FFmpeg's CUDA hwaccel, i.e. NVDEC: frames stay NV12 in
// device memory). One pure function decides from what was asked and what this FFmpeg and
// machine offer, so every case is testable without a GPU; VideoReader gathers the facts.
#pragma once

#include <optional>
#include <string>

namespace kiln::video {

// What VideoReader learned about decoding this stream on the GPU; only asked when a GPU
// decoder was requested.
struct DecoderFacts {
  std::optional<int> cuda_device;  // requested: decode on cuda:N (the model runs there); unset: CPU
  bool ffmpeg_has_cuda = false;    // this FFmpeg was built with CUDA (AV_HWDEVICE_TYPE_CUDA)
  std::string codec;               // the stream's codec, e.g. "h264", "vp9"
  bool codec_has_cuda = false;     // the codec's decoder offers a CUDA hw config (device context)
  std::string pixel_format;        // the stream's software pixel format, e.g. "yuv420p"
  std::string device_error;        // creating the CUDA device failed (no driver / GPU): why; else empty
};

struct DecoderChoice {
  bool gpu = false;     // NVDEC on cuda:device
  int device = 0;
  std::string reason;   // a GPU was requested but the CPU decodes: why (empty otherwise)
};

// True for the software formats NVDEC frames arrive from as 8-bit NV12 in BT.601 limited
// range, the form kiln::Frame's NV12 means (4:2:0, 8 bits, not full-range "yuvj").
bool nvdec_pixel_format(const std::string& pixel_format);

DecoderChoice choose_decoder(const DecoderFacts& facts);

}  // namespace kiln::video
