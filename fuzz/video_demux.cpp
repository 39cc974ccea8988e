// Video demuxing and decoding (FFmpeg's avformat + avcodec over an in-memory AVIOContext,
// through video::VideoReader::open_bytes) of arbitrary bytes: every input must give frames
// or a Status, never a crash or an unbounded allocation. At most kFrames frames are
// decoded per input, so a valid long video does not stall the fuzzer.
#include <cstdint>
#include <span>
#include <vector>

#include "video/video_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr int kFrames = 4;
  auto reader = kiln::video::VideoReader::open_bytes(std::span(data, size), "fuzz.video");
  if (!reader.ok()) return 0;
  std::vector<uint8_t> bgr;
  for (int i = 0; i < kFrames; ++i) {
    auto more = reader->read(bgr);
    if (!more.ok() || !*more) break;
  }
  return 0;
}
