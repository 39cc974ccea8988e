// video::choose_decoder: NVDEC only when a GPU was asked for and FFmpeg, the codec, the
// pixel format and the device all allow it; otherwise the CPU with the first reason that
// stopped it (what a "fallback: video decoded on the CPU" line says).
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "video/decoder_choice.h"
#include "video/video_io.h"

namespace kiln::test {
namespace {

video::DecoderFacts all_there() {
  video::DecoderFacts f;
  f.cuda_device = 1;
  f.ffmpeg_has_cuda = true;
  f.codec = "h264";
  f.codec_has_cuda = true;
  f.pixel_format = "yuv420p";
  return f;
}

TEST(DecoderChoice, CpuWithoutReasonWhenNoGpuWasAsked) {
  video::DecoderFacts f = all_there();
  f.cuda_device.reset();
  const video::DecoderChoice c = video::choose_decoder(f);
  EXPECT_FALSE(c.gpu);
  EXPECT_EQ(c.reason, "");
}

TEST(DecoderChoice, NvdecWhenEverythingAllowsIt) {
  const video::DecoderChoice c = video::choose_decoder(all_there());
  EXPECT_TRUE(c.gpu);
  EXPECT_EQ(c.device, 1);
  EXPECT_EQ(c.reason, "");
  video::DecoderFacts nv12 = all_there();
  nv12.pixel_format = "nv12";
  EXPECT_TRUE(video::choose_decoder(nv12).gpu);
}

TEST(DecoderChoice, EachMissingPieceIsTheReason) {
  video::DecoderFacts f = all_there();
  f.ffmpeg_has_cuda = false;
  EXPECT_EQ(video::choose_decoder(f).reason, "this FFmpeg was built without CUDA (no NVDEC)");

  f = all_there();
  f.codec = "mpeg4", f.codec_has_cuda = false;
  EXPECT_EQ(video::choose_decoder(f).reason, "FFmpeg has no NVDEC decoder for mpeg4");

  for (const char* format : {"yuv420p10le", "yuvj420p", "yuv444p", "yuv422p"}) {
    f = all_there();
    f.pixel_format = format;
    const video::DecoderChoice c = video::choose_decoder(f);
    EXPECT_FALSE(c.gpu) << format;
    EXPECT_EQ(c.reason, std::string("h264 ") + format + " frames (NVDEC frames here are 8-bit 4:2:0, limited range)");
  }

  f = all_there();
  f.device_error = "Operation not permitted";
  const video::DecoderChoice c = video::choose_decoder(f);
  EXPECT_FALSE(c.gpu);
  EXPECT_EQ(c.reason, "no CUDA device for NVDEC on cuda:1 (Operation not permitted)");
}

TEST(DecoderChoice, FirstReasonWins) {
  video::DecoderFacts f;
  f.cuda_device = 0;  // nothing else known: FFmpeg's lack of CUDA is said first
  EXPECT_EQ(video::choose_decoder(f).reason, "this FFmpeg was built without CUDA (no NVDEC)");
}

// The facts VideoReader gathers for the assets' H.264 video: on a machine without a CUDA
// driver NVDEC is asked for and refused by the device, and the CPU decodes the frames.
TEST(DecoderChoice, ReaderWithoutGpuSaysWhyAndDecodesOnTheCpu) {
  KILN_REQUIRE_ASSETS();
  auto reader = video::VideoReader::open(asset("video/person_walking_office_720p_6s.mp4"), 0);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  if (reader->decoder().gpu) GTEST_SKIP() << "a CUDA device is present here: NVDEC decodes (tests/video_gpu)";
  EXPECT_EQ(reader->decoder().reason.rfind("no CUDA device for NVDEC on cuda:0 (", 0), 0u) << reader->decoder().reason;
  std::vector<uint8_t> bgr;
  auto more = reader->read(bgr);
  ASSERT_TRUE(more.ok()) << more.status().message();
  EXPECT_TRUE(*more);
  EXPECT_EQ(bgr.size(), 1280u * 720 * 3);
}

}  // namespace
}  // namespace kiln::test
