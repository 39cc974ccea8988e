#include "video/source_reader.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace kiln::video {

namespace {

constexpr double kFirstWaitS = 0.5, kLongestWaitS = 4;

}  // namespace

Result<SourceReader> SourceReader::open(const VideoSource& source, const LiveOptions& options) {
  Result<VideoReader> reader =
      source.live() ? VideoReader::open_url(source.locator, options.stream)
                    : VideoReader::open(source.locator, options.stream.cuda_device);
  if (!reader.ok()) return reader.status();
  return SourceReader(source, options, std::move(reader).value());
}

Result<bool> SourceReader::read(std::vector<uint8_t>& bgr, const ReconnectNotice& on_reconnect) {
  return read_with([&] { return reader_.read(bgr); }, on_reconnect);
}

Result<bool> SourceReader::read_device(DeviceFrame& frame, const ReconnectNotice& on_reconnect) {
  return read_with([&] { return reader_.read_device(frame); }, on_reconnect);
}

Result<bool> SourceReader::read_with(const std::function<Result<bool>()>& read_one, const ReconnectNotice& on_reconnect) {
  for (;;) {
    Result<bool> more = read_one();
    if (more.ok() && *more) {
      ++frames_;
      return true;
    }
    if (!source_.live() || (more.ok() && !reader_.info().live) || reader_.nvdec_gave_up()) return more;
    if (stopping()) return false;  // the caller is stopping: not a drop
    KILN_RETURN_IF_ERROR(reconnect(more.ok() ? "it ended" : without_name(more.status()), on_reconnect));
  }
}

// A reader's message without the "<locator>: " it starts with: the line already names it.
std::string SourceReader::without_name(const Status& st) const {
  std::string text = st.message();
  if (text.rfind(source_.locator + ": ", 0) == 0) text.erase(0, source_.locator.size() + 2);
  return text;
}

Status SourceReader::reconnect(const std::string& why, const ReconnectNotice& on_reconnect) {
  const VideoInfo before = reader_.info();
  const std::string dropped = source_.name + ": stream dropped after frame " + std::to_string(frames_) + " (" + why + ")";
  double wait_s = kFirstWaitS;
  std::string last_error;
  for (int attempt = 1; attempt <= options_.reconnect_attempts && !stopping(); ++attempt) {
    std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
    wait_s = std::min(2 * wait_s, kLongestWaitS);
    Result<VideoReader> again = VideoReader::open_url(source_.locator, options_.stream);
    if (!again.ok()) {
      last_error = without_name(again.status());
      continue;
    }
    if (again->info().width != before.width || again->info().height != before.height)
      return error(StatusCode::kIoError, dropped, " and came back at ", again->info().width, "x", again->info().height,
                   " instead of ", before.width, "x", before.height);
    reader_ = std::move(again).value();
    if (on_reconnect) on_reconnect(dropped + "; reconnected (attempt " + std::to_string(attempt) + ")");
    return Status::Ok();
  }
  if (stopping()) return Status::Ok();  // read() ends the stream
  return error(StatusCode::kIoError, dropped, " and did not come back after ", options_.reconnect_attempts,
               " reconnect attempts", last_error.empty() ? "" : " (" + last_error + ")");
}

}  // namespace kiln::video
