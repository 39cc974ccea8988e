// Video decoding and encoding through FFmpeg (libavformat, libavcodec, libswscale). Frames
// are 8-bit BGR, HWC, like image_io's images and cv2.VideoCapture's frames, so the predict
// path treats a video frame exactly like a decoded image.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln::video {

// A frame rate as a fraction (29.97 fps is 30000/1001), as containers store it.
struct FrameRate {
  int num = 0, den = 1;
  double fps() const { return den ? static_cast<double>(num) / den : 0.0; }
};

struct VideoInfo {
  int width = 0, height = 0;
  FrameRate frame_rate;     // the stream's average rate (what an encoder should reproduce)
  int64_t frame_count = 0;  // as the container declares it; 0 when it does not say
};

// True for the extensions Ultralytics treats as video (mp4, avi, mkv, mov, ...; any case).
bool is_video_file(const std::filesystem::path& path);

// Reads the first video stream of a file frame by frame. Missing file: NotFound; a file
// that is not a video, or whose data cannot be decoded, or that ends before the frames its
// header promises (truncated): Corrupt naming the file, as is a frame size FFmpeg refuses
// (av_image_check_size: (width + 128) x (height + 128) under 2^28, images' limit).
class VideoReader {
 public:
  static Result<VideoReader> open(const std::filesystem::path& path);
  // The same from a video held in memory (read through an in-memory AVIOContext); `bytes`
  // must outlive the reader, `name` names it in errors. decoder_threads (>= 0): 0 lets FFmpeg
  // use one per core; 1 decodes on the calling thread, for callers that open many short
  // readers or run many at once (a thread pool per reader then costs more than it gives).
  static Result<VideoReader> open_bytes(std::span<const uint8_t> bytes, const std::string& name,
                                        int decoder_threads = 0);
  VideoReader(VideoReader&&) noexcept;
  VideoReader& operator=(VideoReader&&) noexcept;
  ~VideoReader();

  const VideoInfo& info() const;
  // Decodes the next frame into `bgr` (resized to height * width * 3). false once the
  // stream has ended cleanly.
  Result<bool> read(std::vector<uint8_t>& bgr);

 private:
  struct Impl;
  explicit VideoReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Encodes BGR frames into an H.264 MP4 (MPEG-4 Part 2 where libavcodec has no H.264
// encoder) at a constant frame rate. Frames go to a temp file beside `path` that finish()
// renames into place; a writer destroyed without finish() removes it, so a failed run
// leaves no half-written video.
class VideoWriter {
 public:
  static Result<VideoWriter> open(const std::filesystem::path& path, int width, int height, FrameRate rate);
  VideoWriter(VideoWriter&&) noexcept;
  VideoWriter& operator=(VideoWriter&&) noexcept;
  ~VideoWriter();

  Status write(const uint8_t* bgr);  // height * width * 3 bytes
  Status finish();                   // flushes the encoder, writes the trailer, renames
  int64_t frames_written() const;

 private:
  struct Impl;
  explicit VideoWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::video
