#include "video/decoder_choice.h"

namespace kiln::video {

bool nvdec_pixel_format(const std::string& pixel_format) { return pixel_format == "yuv420p" || pixel_format == "nv12"; }

DecoderChoice choose_decoder(const DecoderFacts& f) {
  if (!f.cuda_device) return {};
  auto cpu = [](std::string why) { return DecoderChoice{false, 0, std::move(why)}; };
  if (!f.ffmpeg_has_cuda) return cpu("this FFmpeg was built without CUDA (no NVDEC)");
  if (!f.codec_has_cuda) return cpu("FFmpeg has no NVDEC decoder for " + f.codec);
  if (!nvdec_pixel_format(f.pixel_format))
    return cpu(f.codec + " " + f.pixel_format + " frames (NVDEC frames here are 8-bit 4:2:0, limited range)");
  if (!f.device_error.empty()) return cpu("no CUDA device for NVDEC on cuda:" + std::to_string(*f.cuda_device) + " (" + f.device_error + ")");
  return {true, *f.cuda_device, {}};
}

}  // namespace kiln::video
