// The frames of a VideoSource, reopening a live one (URL or camera) that drops: its end or
// a read error starts bounded reconnect attempts with back-off, and the frames go on where
// they stopped. Files never reconnect: their end is the end, their errors are final.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "kiln/status.h"
#include "video/video_io.h"
#include "video/video_source.h"

namespace kiln::video {

struct LiveOptions {
  StreamOptions stream;
  int reconnect_attempts = 5;  // per drop; waits of 0.5, 1, 2, 4, 4 ... s before them
};

class SourceReader {
 public:
  // Told once per successful reconnect, with a line saying what dropped and when.
  using ReconnectNotice = std::function<void(const std::string&)>;

  static Result<SourceReader> open(const VideoSource& source, const LiveOptions& options);

  const VideoInfo& info() const { return reader_.info(); }
  // Where the frames are decoded (LiveOptions::stream.cuda_device asks for NVDEC).
  const DecoderChoice& decoder() const { return reader_.decoder(); }
  // Next frame into `bgr`; false once a file (or a live source declaring its length) has
  // ended, or once StreamOptions::stop is set. A live source that does not come back within its attempts, or comes back at
  // another frame size, is an IoError naming it and the frames read so far.
  Result<bool> read(std::vector<uint8_t>& bgr, const ReconnectNotice& on_reconnect);
  // The same for a source decoded on the GPU (decoder().gpu): the frame stays in device memory.
  // NVDEC giving up mid-stream is not a drop: the error comes back with nvdec_gave_up() true.
  Result<bool> read_device(DeviceFrame& frame, const ReconnectNotice& on_reconnect);
  // VideoReader's: the rest of the stream, from the refused frame, read with read().
  bool nvdec_gave_up() const { return reader_.nvdec_gave_up(); }
  void continue_on_cpu() { reader_.continue_on_cpu(); }

 private:
  SourceReader(VideoSource source, LiveOptions options, VideoReader reader)
      : source_(std::move(source)), options_(options), reader_(std::move(reader)) {}
  Result<bool> read_with(const std::function<Result<bool>()>& read_one, const ReconnectNotice& on_reconnect);
  Status reconnect(const std::string& why, const ReconnectNotice& on_reconnect);
  std::string without_name(const Status& st) const;
  bool stopping() const { return options_.stream.stop && options_.stream.stop->load(); }

  VideoSource source_;
  LiveOptions options_;
  VideoReader reader_;
  int64_t frames_ = 0;
};

}  // namespace kiln::video
