// VideoReader / VideoWriter: a synthetic clip survives an encode/decode round trip with its
// frame count, size and rate; broken files are one-line Corrupt errors naming the file; a
// writer that is not finished leaves nothing behind.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "support/test_support.h"
#include "video/video_io.h"

namespace kiln::video {
namespace {

namespace fs = std::filesystem;

// Frame k: a smooth gradient plus a bright square that moves 4 px per frame, so frames
// differ and a decoder that returned them out of order would be caught.
std::vector<uint8_t> synthetic_frame(int w, int h, int k) {
  std::vector<uint8_t> bgr(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &bgr[(static_cast<size_t>(y) * w + x) * 3];
      const bool square = x >= 4 * k && x < 4 * k + 16 && y >= 8 && y < 24;
      p[0] = square ? 240 : static_cast<uint8_t>(x * 255 / w);
      p[1] = square ? 240 : static_cast<uint8_t>(y * 255 / h);
      p[2] = square ? 240 : 64;
    }
  return bgr;
}

double mean_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::abs(a[i] - b[i]);
  return sum / static_cast<double>(a.size());
}

fs::path write_clip(const std::string& name, int w, int h, FrameRate rate, int frames) {
  fs::path path = test::temp_dir() / name;
  auto writer = VideoWriter::open(path, w, h, rate);
  EXPECT_TRUE(writer.ok()) << writer.status().message();
  for (int k = 0; k < frames; ++k) EXPECT_TRUE(writer->write(synthetic_frame(w, h, k).data()).ok());
  Status st = writer->finish();
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(writer->frames_written(), frames);
  return path;
}

TEST(VideoIo, RoundTripKeepsFramesSizeAndRate) {
  const int w = 96, h = 64, n = 12;
  fs::path path = write_clip("roundtrip.mp4", w, h, {25, 1}, n);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  auto reader = VideoReader::open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ(reader->info().width, w);
  EXPECT_EQ(reader->info().height, h);
  EXPECT_DOUBLE_EQ(reader->info().frame_rate.fps(), 25.0);
  EXPECT_EQ(reader->info().frame_count, n);
  std::vector<uint8_t> bgr;
  int k = 0;
  for (;; ++k) {
    auto more = reader->read(bgr);
    ASSERT_TRUE(more.ok()) << more.status().message();
    if (!*more) break;
    ASSERT_EQ(bgr.size(), static_cast<size_t>(w) * h * 3);
    // Lossy, but close to its own frame and far from the neighbouring one.
    const double own = mean_abs_diff(bgr, synthetic_frame(w, h, k));
    EXPECT_LT(own, 6.0) << "frame " << k;
    if (k + 1 < n) {
      EXPECT_LT(own, mean_abs_diff(bgr, synthetic_frame(w, h, k + 1))) << "frame " << k;
    }
  }
  EXPECT_EQ(k, n);
}

TEST(VideoIo, FractionalRateIsKept) {
  fs::path path = write_clip("ntsc.mp4", 64, 48, {30000, 1001}, 3);
  auto reader = VideoReader::open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_NEAR(reader->info().frame_rate.fps(), 29.97, 0.01);
}

TEST(VideoIo, OddSizeIsEncoded) {
  fs::path path = write_clip("odd.mp4", 65, 47, {10, 1}, 2);
  auto reader = VideoReader::open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ(reader->info().width, 65);
  EXPECT_EQ(reader->info().height, 47);
}

TEST(VideoIo, UnfinishedWriterLeavesNoFile) {
  fs::path path = test::temp_dir() / "abandoned.mp4";
  fs::remove(path);
  {
    auto writer = VideoWriter::open(path, 64, 48, {25, 1});
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    ASSERT_TRUE(writer->write(synthetic_frame(64, 48, 0).data()).ok());
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
}

void expect_corrupt(const fs::path& path) {
  auto reader = VideoReader::open(path);
  Status st = reader.ok() ? Status::Ok() : reader.status();
  std::vector<uint8_t> bgr;
  while (st.ok()) {
    auto more = reader->read(bgr);
    if (!more.ok()) {
      st = more.status();
    } else if (!*more) {
      break;
    }
  }
  ASSERT_FALSE(st.ok()) << path << " was read without an error";
  EXPECT_EQ(st.code(), StatusCode::kCorrupt) << st.message();
  EXPECT_NE(st.message().find(path.string()), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find('\n'), std::string::npos) << st.message();
}

TEST(VideoIo, NotAVideoIsCorrupt) {
  fs::path path = test::temp_dir() / "notes.mp4";
  std::ofstream(path) << "this is not a video\n";
  expect_corrupt(path);
}

TEST(VideoIo, TruncatedVideoIsCorrupt) {
  fs::path whole = write_clip("whole.mp4", 96, 64, {25, 1}, 20);
  std::ifstream in(whole, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::path cut = test::temp_dir() / "cut.mp4";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_corrupt(cut);
}

TEST(VideoIo, BytesInMemoryReadAsTheFile) {
  const int w = 96, h = 64, n = 6;
  fs::path path = write_clip("memory.mp4", w, h, {25, 1}, n);
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto from_file = VideoReader::open(path);
  auto from_bytes = VideoReader::open_bytes(bytes, "memory.mp4");
  auto one_thread = VideoReader::open_bytes(bytes, "memory.mp4", 1);  // decoded on this thread
  ASSERT_TRUE(from_file.ok() && from_bytes.ok() && one_thread.ok()) << from_bytes.status().message();
  EXPECT_EQ(from_bytes->info().width, w);
  EXPECT_EQ(from_bytes->info().frame_count, n);
  std::vector<uint8_t> a, b, c;
  int frames = 0;
  for (;;) {
    auto more_a = from_file->read(a);
    auto more_b = from_bytes->read(b);
    auto more_c = one_thread->read(c);
    ASSERT_TRUE(more_a.ok() && more_b.ok() && more_c.ok());
    ASSERT_EQ(*more_a, *more_b);
    ASSERT_EQ(*more_a, *more_c);
    if (!*more_a) break;
    EXPECT_EQ(a, b) << "frame " << frames;
    EXPECT_EQ(a, c) << "frame " << frames;
    ++frames;
  }
  EXPECT_EQ(frames, n);
  EXPECT_EQ(VideoReader::open_bytes(bytes, "memory.mp4", -1).status().message(),
            "memory.mp4: decoder_threads -1 is negative");

  const std::vector<uint8_t> half(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2));
  auto cut = VideoReader::open_bytes(half, "cut.mp4");
  Status st = cut.ok() ? Status::Ok() : cut.status();
  std::vector<uint8_t> frame;
  while (cut.ok() && st.ok()) {
    auto more = cut->read(frame);
    if (!more.ok()) st = more.status();
    else if (!*more) break;
  }
  EXPECT_EQ(st.code(), StatusCode::kCorrupt) << "half a video in memory is Corrupt, not a crash";
}

TEST(VideoIo, FramesOverThePixelLimitAreRefusedFromTheHeader) {
  // A YUV4MPEG2 stream takes its frame size from the header alone: 20000 x 20000 is 4e8
  // pixels, over FFmpeg's limit, so nothing of that size is ever allocated.
  const std::string y4m = "YUV4MPEG2 W20000 H20000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + std::string(64, '\x80');
  auto r = VideoReader::open_bytes({reinterpret_cast<const uint8_t*>(y4m.data()), y4m.size()}, "huge.y4m");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt) << r.status().message();
  EXPECT_EQ(r.status().message().rfind("huge.y4m: not a readable video", 0), 0u) << r.status().message();
  // The same header at 64 x 48 with its one frame is a video.
  const std::string small = "YUV4MPEG2 W64 H48 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + std::string(64 * 48 * 3 / 2, '\x80');
  auto ok = VideoReader::open_bytes({reinterpret_cast<const uint8_t*>(small.data()), small.size()}, "small.y4m");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->info().width, 64);
}

TEST(VideoIo, GifScreenOverTheFrameLimitIsRefusedCheaply) {
  // 73 bytes found by the video_demux fuzzer: a GIF whose logical screen is 11308 x 11308
  // (128 M pixels, under FFmpeg's own limit) made the probe allocate 640 MB and take seconds.
  const uint8_t gif[] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c,
                         0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x20, 0x11, 0x11, 0x11, 0x11, 0x11,
                         0x11, 0x11, 0x11, 0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x20, 0x00, 0x18, 0x00, 0x81, 0x00,
                         0x00, 0x00, 0x30, 0xf9, 0x41, 0x21, 0x2e, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x2c, 0x00,
                         0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x21, 0x00, 0x08, 0x00, 0x00, 0x01, 0x08};
  auto r = VideoReader::open_bytes(gif, "screen.gif");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt) << r.status().message();
  EXPECT_EQ(r.status().message().rfind("screen.gif: ", 0), 0u) << r.status().message();
}

TEST(VideoIo, MissingFileIsNotFound) {
  auto reader = VideoReader::open(test::temp_dir() / "nope.mp4");
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kNotFound);
}

TEST(VideoIo, VideoExtensions) {
  EXPECT_TRUE(is_video_file("a/b.MP4"));
  EXPECT_TRUE(is_video_file("clip.webm"));
  EXPECT_FALSE(is_video_file("bus.jpg"));
  EXPECT_FALSE(is_video_file("mp4"));
}

}  // namespace
}  // namespace kiln::video
