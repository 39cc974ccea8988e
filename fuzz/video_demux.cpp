// Video demuxing and decoding (FFmpeg's avformat + avcodec over an in-memory AVIOContext,
// through video::VideoReader::open_bytes) of arbitrary bytes: every input must give frames
// or a Status, never a crash or an unbounded allocation. At most kFrames frames are
// decoded per input, so a valid long video does not stall the fuzzer. Decoding runs on the
// fuzzer's thread: a decoder thread pool started and joined per input made thread
// hand-offs, not parsing, the cost of an execution (and FFmpeg's threading is not kiln's).
#include <cstdint>
#include <span>
#include <vector>

#include "video/video_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr int kFrames = 4;
  auto reader = kiln::video::VideoReader::open_bytes(std::span(data, size), "fuzz.video", 1);
  if (!reader.ok()) return 0;
  std::vector<uint8_t> bgr;
  for (int i = 0; i < kFrames; ++i) {
    auto more = reader->read(bgr);
    if (!more.ok() || !*more) break;
  }
  return 0;
}
