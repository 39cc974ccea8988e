// Video decoding and encoding through FFmpeg (libavformat, libavcodec, libswscale). Frames
// are 8-bit BGR, HWC, like image_io's images and cv2.VideoCapture's frames, so the predict
// path treats a video frame exactly like a decoded image.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kiln/status.h"
#include "video/decoder_choice.h"

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
  bool live = false;        // a URL or camera declaring no length: its end is a drop, not the end
};

// How a URL or camera is opened (VideoReader::open_url).
struct StreamOptions {
  // Connecting, and then each read: a source silent this long is an error, not a hang.
  double timeout_s = 10;
  // When set and true, blocking calls give up at once (the caller is stopping).
  const std::atomic<bool>* stop = nullptr;
  // Decode with NVDEC on this GPU where possible, as VideoReader::open.
  std::optional<int> cuda_device;
};

// True for the extensions Ultralytics treats as video (mp4, avi, mkv, mov, ...; any case).
bool is_video_file(const std::filesystem::path& path);

// A frame NVDEC decoded: NV12 planes in device memory (FFmpeg's CUDA frames, in the CUDA
// runtime's primary context, ready on the legacy default stream), valid while `hold`
// (FFmpeg's reference to the frame) lives.
struct DeviceFrame {
  int width = 0, height = 0;
  const uint8_t* planes[2] = {nullptr, nullptr};  // luma, interleaved chroma
  size_t pitch[2] = {0, 0};
  std::shared_ptr<void> hold;
};

// Reads the first video stream of a file frame by frame. Missing file: NotFound; a file
// that is not a video, or whose data cannot be decoded, or that ends before the frames its
// header promises (truncated): Corrupt naming the file, as is a frame over kMaxVideoPixels
// (checked before any frame of that size is allocated, the probe's decoding included).
inline constexpr int64_t kMaxVideoPixels = int64_t{8192} * 8192;  // 8K UHD is 33 M

class VideoReader {
 public:
  // `cuda_device`: decode on that GPU with NVDEC when this FFmpeg, the codec, the pixel
  // format and the machine allow it (decoder() says what was chosen and why not).
  static Result<VideoReader> open(const std::filesystem::path& path, std::optional<int> cuda_device = std::nullopt);
  // The same from a video held in memory (read through an in-memory AVIOContext); `bytes`
  // must outlive the reader, `name` names it in errors. decoder_threads (>= 0): 0 lets FFmpeg
  // use one per core; 1 decodes on the calling thread, for callers that open many short
  // readers or run many at once (a thread pool per reader then costs more than it gives).
  static Result<VideoReader> open_bytes(std::span<const uint8_t> bytes, const std::string& name,
                                        int decoder_threads = 0);
  // A URL of any protocol this FFmpeg has (RTSP over TCP), or a V4L2 camera (/dev/videoN);
  // analysis limited to a second of stream so a live source starts at once. Refused
  // connection, missing camera, silence past the timeout: IoError / NotFound naming it.
  static Result<VideoReader> open_url(const std::string& url, const StreamOptions& options);
  VideoReader(VideoReader&&) noexcept;
  VideoReader& operator=(VideoReader&&) noexcept;
  ~VideoReader();

  const VideoInfo& info() const;
  const DecoderChoice& decoder() const;
  // Decodes the next frame into `bgr` (resized to height * width * 3). false once the
  // stream has ended cleanly. CPU decoding only (decoder().gpu false).
  Result<bool> read(std::vector<uint8_t>& bgr);
  // The same on the GPU (decoder().gpu): the next frame stays in device memory. A frame
  // FFmpeg could not decode with NVDEC after all (its hwaccel refused the stream's profile):
  // Unsupported naming it, and nvdec_gave_up() is true.
  Result<bool> read_device(DeviceFrame& frame);
  // NVDEC gave up on the stream at the frame the last read_device refused (a profile or
  // chroma change mid-stream): FFmpeg decoded that frame, and decodes the rest, in software.
  bool nvdec_gave_up() const;
  // After nvdec_gave_up(): the rest of the stream, that frame first, is read with read(),
  // and decoder() says the CPU decodes it and why.
  void continue_on_cpu();

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
