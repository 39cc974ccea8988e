#include "video/video_io.h"

#include "core/cpu_count.h"
#include "video/cuda_device.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavformat/avformat.h>
#include <libavutil/hwcontext.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace kiln::video {

namespace fs = std::filesystem;

namespace {

std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

// The library never prints: FFmpeg's own log goes silent once, before first use.
void silence_ffmpeg_log() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(AV_LOG_QUIET); });
}

// Frames a reader's consumer may hold at once beyond what the decoder needs (predict's
// queue between the decode thread and inference).
constexpr int kExtraHwFrames = 12;

bool ffmpeg_has_cuda() {
  for (AVHWDeviceType t = av_hwdevice_iterate_types(AV_HWDEVICE_TYPE_NONE); t != AV_HWDEVICE_TYPE_NONE;
       t = av_hwdevice_iterate_types(t))
    if (t == AV_HWDEVICE_TYPE_CUDA) return true;
  return false;
}

bool codec_has_cuda(const AVCodec* codec) {
  for (int i = 0;; ++i) {
    const AVCodecHWConfig* c = avcodec_get_hw_config(codec, i);
    if (!c) return false;
    if (c->device_type == AV_HWDEVICE_TYPE_CUDA && (c->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX)) return true;
  }
}

// get_format for NVDEC: CUDA frames when offered. FFmpeg offers them again after a failed
// hwaccel start without CUDA in the list; read_device then reports the software frames.
AVPixelFormat pick_cuda(AVCodecContext* ctx, const AVPixelFormat* formats) {
  for (const AVPixelFormat* f = formats; *f != AV_PIX_FMT_NONE; ++f)
    if (*f == AV_PIX_FMT_CUDA) return *f;
  return avcodec_default_get_format(ctx, formats);
}

}  // namespace

bool is_video_file(const fs::path& path) {
  static const std::array<const char*, 12> kVideo = {"asf", "avi", "gif", "m4v", "mkv", "mov",
                                                     "mp4", "mpeg", "mpg", "ts", "wmv", "webm"};
  std::string ext = path.extension().string();
  if (ext.empty()) return false;
  ext.erase(0, 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::find(kVideo.begin(), kVideo.end(), ext) != kVideo.end();
}

// ---------------------------------------------------------------------------------------
// VideoReader

// An in-memory file for FFmpeg's demuxers: read and seek over a span.
struct MemoryInput {
  std::span<const uint8_t> bytes;
  size_t pos = 0;

  static int read(void* opaque, uint8_t* buf, int size) {
    auto* in = static_cast<MemoryInput*>(opaque);
    const size_t n = std::min(static_cast<size_t>(std::max(size, 0)), in->bytes.size() - in->pos);
    if (n == 0) return AVERROR_EOF;
    std::memcpy(buf, in->bytes.data() + in->pos, n);
    in->pos += n;
    return static_cast<int>(n);
  }
  static int64_t seek(void* opaque, int64_t offset, int whence) {
    auto* in = static_cast<MemoryInput*>(opaque);
    const int64_t size = static_cast<int64_t>(in->bytes.size());
    if (whence & AVSEEK_SIZE) return size;
    const int64_t base = (whence & 3) == SEEK_CUR ? static_cast<int64_t>(in->pos) : (whence & 3) == SEEK_END ? size : 0;
    if (offset > size || offset < -size) return AVERROR(EINVAL);
    const int64_t to = base + offset;
    if (to < 0 || to > size) return AVERROR(EINVAL);
    in->pos = static_cast<size_t>(to);
    return to;
  }
};

struct VideoReader::Impl {
  fs::path path;
  MemoryInput memory;          // open_bytes: what `io` reads
  AVIOContext* io = nullptr;   // open_bytes only; the format context does not own it
  AVFormatContext* format = nullptr;
  AVCodecContext* decoder = nullptr;
  AVBufferRef* hw_device = nullptr;  // NVDEC's CUDA device
  DecoderChoice choice;
  SwsContext* to_bgr = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  int stream = -1;
  int read_error = 0;  // a failed read, told once the decoder has given up the frames it holds
  bool software_frame_held = false;  // `frame`: a software frame read_device refused, kept for read()
  int64_t decoded = 0;
  VideoInfo info;
  // open_url: FFmpeg's blocking calls poll `interrupted`, which gives up once `deadline`
  // (re-armed before each call) has passed.
  double timeout_s = 0;
  const std::atomic<bool>* stop = nullptr;
  std::chrono::steady_clock::time_point deadline;
  bool timed_out = false;

  void arm() {
    using namespace std::chrono;
    deadline = steady_clock::now() + duration_cast<steady_clock::duration>(duration<double>(timeout_s));
  }
  static int interrupted(void* opaque) {
    auto* r = static_cast<Impl*>(opaque);
    if (r->stop && r->stop->load()) return 1;
    if (std::chrono::steady_clock::now() < r->deadline) return 0;
    r->timed_out = true;
    return 1;
  }
  std::string reason(int rc) const {
    if (!timed_out) return av_error(rc);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", timeout_s);
    return std::string("no data for ") + seconds + " s";
  }

  ~Impl() {
    sws_freeContext(to_bgr);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&decoder);
    av_buffer_unref(&hw_device);
    avformat_close_input(&format);
    if (io) av_freep(&io->buffer);
    avio_context_free(&io);
  }

  // After the container is open: the stream, its decoder and the frame size checks.
  // `from_url`: a URL or camera, live when it declares no length.
  Status open_stream(std::optional<int> cuda_device, int decoder_threads, bool from_url);
  // NVDEC or the CPU for this stream (decoder_choice.h), set up on the codec context.
  void choose(const AVCodec* codec, const AVCodecParameters& params, std::optional<int> cuda_device);
  // The next frame into `frame`; false at the clean end of the stream.
  Result<bool> next();

  Status corrupt(const std::string& what) const {
    return error(StatusCode::kCorrupt, path.string(), ": ", what);
  }

  Status convert(std::vector<uint8_t>& bgr) {
    if (frame->width != info.width || frame->height != info.height)
      return error(StatusCode::kUnsupported, path.string(), ": frame ", decoded + 1, " is ", frame->width, "x",
                   frame->height, ", the stream started at ", info.width, "x", info.height);
    // Same scaler and flags as cv2.VideoCapture's FFmpeg backend, so frames match what
    // Ultralytics reads.
    to_bgr = sws_getCachedContext(to_bgr, info.width, info.height, static_cast<AVPixelFormat>(frame->format),
                                  info.width, info.height, AV_PIX_FMT_BGR24, SWS_BICUBIC, nullptr, nullptr, nullptr);
    if (!to_bgr) return corrupt("unsupported pixel format " + std::to_string(frame->format));
    bgr.resize(static_cast<size_t>(info.width) * info.height * 3);
    uint8_t* dst[4] = {bgr.data(), nullptr, nullptr, nullptr};
    int dst_stride[4] = {info.width * 3, 0, 0, 0};
    sws_scale(to_bgr, frame->data, frame->linesize, 0, info.height, dst, dst_stride);
    return Status::Ok();
  }
};

VideoReader::VideoReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoReader::VideoReader(VideoReader&&) noexcept = default;
VideoReader& VideoReader::operator=(VideoReader&&) noexcept = default;
VideoReader::~VideoReader() = default;

const VideoInfo& VideoReader::info() const { return impl_->info; }
const DecoderChoice& VideoReader::decoder() const { return impl_->choice; }

Result<VideoReader> VideoReader::open(const fs::path& path, std::optional<int> cuda_device) {
  silence_ffmpeg_log();
  std::error_code ec;
  if (!fs::exists(path, ec)) return error(StatusCode::kNotFound, path.string(), ": no such file");
  auto r = std::make_unique<Impl>();
  r->path = path;
  int rc = avformat_open_input(&r->format, path.c_str(), nullptr, nullptr);
  if (rc < 0) return r->corrupt("not a readable video (" + av_error(rc) + ")");
  KILN_RETURN_IF_ERROR(r->open_stream(cuda_device, 0, /*from_url=*/false));
  return VideoReader(std::move(r));
}

Result<VideoReader> VideoReader::open_bytes(std::span<const uint8_t> bytes, const std::string& name,
                                            int decoder_threads) {
  silence_ffmpeg_log();
  if (decoder_threads < 0)
    return error(StatusCode::kInvalidArgument, name, ": decoder_threads ", decoder_threads, " is negative");
  constexpr int kBufferSize = 1 << 16;
  auto r = std::make_unique<Impl>();
  r->path = name;
  r->memory.bytes = bytes;
  auto* buffer = static_cast<uint8_t*>(av_malloc(kBufferSize));
  if (buffer) r->io = avio_alloc_context(buffer, kBufferSize, 0, &r->memory, &MemoryInput::read, nullptr, &MemoryInput::seek);
  if (!r->io) {
    av_free(buffer);
    return error(StatusCode::kInternal, name, ": out of memory");
  }
  r->format = avformat_alloc_context();
  if (!r->format) return error(StatusCode::kInternal, name, ": out of memory");
  r->format->pb = r->io;
  r->format->flags |= AVFMT_FLAG_CUSTOM_IO;
  int rc = avformat_open_input(&r->format, nullptr, nullptr, nullptr);  // frees the context on failure
  if (rc < 0) return r->corrupt("not a readable video (" + av_error(rc) + ")");
  KILN_RETURN_IF_ERROR(r->open_stream(std::nullopt, decoder_threads, /*from_url=*/false));
  return VideoReader(std::move(r));
}

Result<VideoReader> VideoReader::open_url(const std::string& url, const StreamOptions& options) {
  silence_ffmpeg_log();
  auto r = std::make_unique<Impl>();
  r->path = url;
  r->timeout_s = options.timeout_s;
  r->stop = options.stop;
  const AVInputFormat* input = nullptr;
  AVDictionary* opts = nullptr;
  if (url.rfind("/dev/", 0) == 0) {
    std::error_code ec;
    if (!fs::exists(url, ec)) return error(StatusCode::kNotFound, url, ": no such camera");
    static std::once_flag devices;
    std::call_once(devices, [] { avdevice_register_all(); });
    input = av_find_input_format("video4linux2");
    if (!input) return error(StatusCode::kUnsupported, url, ": this FFmpeg has no V4L2 camera input");
  }
  if (url.rfind("rtsp", 0) == 0) av_dict_set(&opts, "rtsp_transport", "tcp", 0);  // UDP drops packets on busy links
  av_dict_set(&opts, "analyzeduration", "1000000", 0);
  r->format = avformat_alloc_context();
  if (!r->format) return error(StatusCode::kInternal, url, ": out of memory");
  r->format->interrupt_callback = {&Impl::interrupted, r.get()};
  r->arm();
  int rc = avformat_open_input(&r->format, url.c_str(), input, &opts);  // frees the context on failure
  av_dict_free(&opts);
  if (rc < 0) return error(StatusCode::kIoError, url, ": cannot open (", r->reason(rc), ")");
  r->arm();
  KILN_RETURN_IF_ERROR(r->open_stream(options.cuda_device, 0, /*from_url=*/true));
  return VideoReader(std::move(r));
}

void VideoReader::Impl::choose(const AVCodec* codec, const AVCodecParameters& params, std::optional<int> cuda_device) {
  DecoderFacts f;
  f.cuda_device = cuda_device;
  if (cuda_device) {
    f.ffmpeg_has_cuda = ffmpeg_has_cuda();
    f.codec = codec->name;
    f.codec_has_cuda = codec_has_cuda(codec);
    const char* pixel_format = av_get_pix_fmt_name(static_cast<AVPixelFormat>(params.format));
    f.pixel_format = pixel_format ? pixel_format : "unknown-format";
    if (f.ffmpeg_has_cuda && f.codec_has_cuda && nvdec_pixel_format(f.pixel_format)) {
      f.device_error = create_cuda_device(*cuda_device, &hw_device);
    }
  }
  choice = choose_decoder(f);
  if (!choice.gpu) return;
  decoder->hw_device_ctx = av_buffer_ref(hw_device);
  decoder->get_format = pick_cuda;
  decoder->extra_hw_frames = kExtraHwFrames;
}

Status VideoReader::Impl::open_stream(std::optional<int> cuda_device, int decoder_threads, bool from_url) {
  // The probe decodes frames too: a 73-byte GIF whose screen claims 11308 x 11308 would
  // otherwise allocate half a gigabyte before the size is seen.
  std::vector<AVDictionary*> probe(format->nb_streams, nullptr);
  for (AVDictionary*& d : probe) av_dict_set_int(&d, "max_pixels", kMaxVideoPixels, 0);
  int rc = avformat_find_stream_info(format, probe.data());
  for (AVDictionary*& d : probe) av_dict_free(&d);
  if (rc < 0) return corrupt("not a readable video (" + reason(rc) + ")");
  const AVCodec* codec = nullptr;
  stream = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (stream < 0) return corrupt("no decodable video stream (" + av_error(stream) + ")");
  AVStream* st = format->streams[stream];
  if (st->codecpar->width <= 0 || st->codecpar->height <= 0) return corrupt("video stream without a frame size");
  if (int64_t{st->codecpar->width} * st->codecpar->height > kMaxVideoPixels)
    return corrupt("frames of " + std::to_string(st->codecpar->width) + "x" + std::to_string(st->codecpar->height) +
                   " are over the limit of " + std::to_string(kMaxVideoPixels) + " pixels");

  decoder = avcodec_alloc_context3(codec);
  if (!decoder) return error(StatusCode::kInternal, path.string(), ": out of memory");
  if ((rc = avcodec_parameters_to_context(decoder, st->codecpar)) < 0)
    return corrupt("bad codec parameters (" + av_error(rc) + ")");
  decoder->max_pixels = kMaxVideoPixels;
  const bool live = from_url && format->duration == AV_NOPTS_VALUE && st->nb_frames == 0;
  choose(codec, *st->codecpar, cuda_device);
  if (!decoder->hw_device_ctx) {  // NVDEC decodes on the GPU with one thread
    decoder->thread_count = decoder_threads;  // 0: FFmpeg picks one thread per core
    // Frame threads hand a frame out only once (threads - 1) later packets have come in: on
    // a live source that is latency (half a second at 30 fps on 16 cores), so slices only.
    decoder->thread_type = live ? FF_THREAD_SLICE : FF_THREAD_FRAME | FF_THREAD_SLICE;
  }
  if ((rc = avcodec_open2(decoder, codec, nullptr)) < 0)
    return corrupt(std::string("cannot open the ") + codec->name + " decoder (" + av_error(rc) + ")");
  packet = av_packet_alloc();
  frame = av_frame_alloc();
  if (!packet || !frame) return error(StatusCode::kInternal, path.string(), ": out of memory");

  AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : av_guess_frame_rate(format, st, nullptr);
  if (rate.num <= 0 || rate.den <= 0) rate = {30, 1};  // no timing in the file: 30 fps, as Ultralytics assumes
  info = {st->codecpar->width, st->codecpar->height, {rate.num, rate.den}, st->nb_frames, live};
  return Status::Ok();
}

Result<bool> VideoReader::read(std::vector<uint8_t>& bgr) {
  Impl& r = *impl_;
  if (r.choice.gpu) return error(StatusCode::kInternal, r.path.string(), ": decoded by NVDEC; read its frames with read_device");
  if (r.software_frame_held) {
    r.software_frame_held = false;  // the frame read_device refused comes first
  } else {
    KILN_ASSIGN_OR_RETURN(bool more, r.next());
    if (!more) return false;
  }
  Status st = r.convert(bgr);
  av_frame_unref(r.frame);
  if (!st.ok()) return st;
  ++r.decoded;
  return true;
}

Result<bool> VideoReader::read_device(DeviceFrame& out) {
  Impl& r = *impl_;
  if (!r.choice.gpu) return error(StatusCode::kInternal, r.path.string(), ": decoded on the CPU; read its frames with read");
  r.software_frame_held = false;
  KILN_ASSIGN_OR_RETURN(bool more, r.next());
  if (!more) return false;
  const std::string frame = "frame " + std::to_string(r.decoded + 1);
  if (r.frame->format != AV_PIX_FMT_CUDA) {
    r.software_frame_held = true;  // for continue_on_cpu()
    return error(StatusCode::kUnsupported, r.path.string(), ": ", frame, ": NVDEC refused this stream (FFmpeg decoded it in software); decode it on the CPU");
  }
  const auto* frames = reinterpret_cast<const AVHWFramesContext*>(r.frame->hw_frames_ctx->data);
  if (frames->sw_format != AV_PIX_FMT_NV12 || r.frame->width != r.info.width || r.frame->height != r.info.height) {
    const char* name = av_get_pix_fmt_name(frames->sw_format);
    const std::string what = std::string(name ? name : "unknown") + " " + std::to_string(r.frame->width) + "x" +
                             std::to_string(r.frame->height);
    av_frame_unref(r.frame);
    return error(StatusCode::kUnsupported, r.path.string(), ": ", frame, " is ", what, ", not NV12 ", r.info.width, "x",
                 r.info.height);
  }
  AVFrame* held = av_frame_alloc();
  if (!held) return error(StatusCode::kInternal, r.path.string(), ": out of memory");
  av_frame_move_ref(held, r.frame);
  out.width = held->width, out.height = held->height;
  for (int p = 0; p < 2; ++p) {
    out.planes[p] = held->data[p];
    out.pitch[p] = static_cast<size_t>(held->linesize[p]);
  }
  out.hold = std::shared_ptr<void>(held, [](void* f) {
    auto* frame = static_cast<AVFrame*>(f);
    av_frame_free(&frame);
  });
  ++r.decoded;
  return true;
}

bool VideoReader::nvdec_gave_up() const { return impl_->choice.gpu && impl_->software_frame_held; }

void VideoReader::continue_on_cpu() {
  Impl& r = *impl_;
  if (!nvdec_gave_up()) return;
  r.choice.gpu = false;
  const char* format = av_get_pix_fmt_name(static_cast<AVPixelFormat>(r.frame->format));
  r.choice.reason = "NVDEC gave up on the stream at frame " + std::to_string(r.decoded + 1) + " (" +
                    (format ? format : "unknown") + " " +
                    std::to_string(r.frame->width) + "x" + std::to_string(r.frame->height) +
                    " decoded in software from there)";
}

Result<bool> VideoReader::Impl::next() {
  Impl& r = *this;
  for (;;) {
    int rc = avcodec_receive_frame(r.decoder, r.frame);
    if (rc == 0) {
      // Damaged data the decoder concealed is still damaged data: refuse it.
      if ((r.frame->flags & AV_FRAME_FLAG_CORRUPT) || r.frame->decode_error_flags) {
        av_frame_unref(r.frame);
        return r.corrupt("frame " + std::to_string(r.decoded + 1) + " is damaged");
      }
      return true;
    }
    if (rc == AVERROR_EOF) {
      if (r.read_error < 0)
        return r.corrupt("read error after frame " + std::to_string(r.decoded) + " (" + r.reason(r.read_error) + ")");
      if (r.info.frame_count > 0 && r.decoded < r.info.frame_count)
        return r.corrupt("truncated: " + std::to_string(r.decoded) + " of the " + std::to_string(r.info.frame_count) +
                         " frames its header declares");
      return false;
    }
    if (rc != AVERROR(EAGAIN)) return r.corrupt("cannot decode frame " + std::to_string(r.decoded + 1) + " (" + av_error(rc) + ")");

    // The decoder wants input: the next packet of our stream, or the end-of-stream flush.
    if (r.timeout_s > 0) r.arm();
    rc = av_read_frame(r.format, r.packet);
    // A failed read ends the input like its end does: frame threads hold the last packets'
    // frames, which a stalled or dropped stream would otherwise lose with the connection.
    if (rc < 0) {
      if (rc != AVERROR_EOF) r.read_error = rc;
      avcodec_send_packet(r.decoder, nullptr);
      continue;
    }
    if (r.packet->stream_index != r.stream) {
      av_packet_unref(r.packet);
      continue;
    }
    rc = avcodec_send_packet(r.decoder, r.packet);
    av_packet_unref(r.packet);
    if (rc < 0 && rc != AVERROR(EAGAIN))
      return r.corrupt("cannot decode frame " + std::to_string(r.decoded + 1) + " (" + av_error(rc) + ")");
  }
}

// ---------------------------------------------------------------------------------------
// VideoWriter

struct VideoWriter::Impl {
  fs::path path, temp;
  AVFormatContext* format = nullptr;
  AVCodecContext* encoder = nullptr;
  AVStream* stream = nullptr;
  SwsContext* from_bgr = nullptr;
  AVFrame* bgr = nullptr;  // the caller's BGR pixels, as sws_scale_frame reads them
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  int64_t written = 0;
  bool finished = false;

  ~Impl() {
    if (format && format->pb) avio_closep(&format->pb);
    if (!finished && !temp.empty()) {
      std::error_code ec;
      fs::remove(temp, ec);
    }
    sws_freeContext(from_bgr);
    av_frame_free(&bgr);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&encoder);
    avformat_free_context(format);
  }

  Status fail(const std::string& what, int rc) const {
    return error(StatusCode::kIoError, path.string(), ": ", what, " (", av_error(rc), ")");
  }

  // Sends one frame (nullptr: flush) and writes every packet the encoder has ready.
  Status encode(const AVFrame* f) {
    int rc = avcodec_send_frame(encoder, f);
    if (rc < 0) return fail("cannot encode frame " + std::to_string(written + 1), rc);
    for (;;) {
      rc = avcodec_receive_packet(encoder, packet);
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return Status::Ok();
      if (rc < 0) return fail("cannot encode frame " + std::to_string(written + 1), rc);
      av_packet_rescale_ts(packet, encoder->time_base, stream->time_base);
      packet->stream_index = stream->index;
      rc = av_interleaved_write_frame(format, packet);
      if (rc < 0) return fail("cannot write", rc);
    }
  }
};

VideoWriter::VideoWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoWriter::VideoWriter(VideoWriter&&) noexcept = default;
VideoWriter& VideoWriter::operator=(VideoWriter&&) noexcept = default;
VideoWriter::~VideoWriter() = default;

int64_t VideoWriter::frames_written() const { return impl_->written; }

Result<VideoWriter> VideoWriter::open(const fs::path& path, int width, int height, FrameRate rate) {
  silence_ffmpeg_log();
  if (width <= 0 || height <= 0 || rate.num <= 0 || rate.den <= 0)
    return error(StatusCode::kInvalidArgument, path.string(), ": bad video size ", width, "x", height, " or frame rate ",
                 rate.num, "/", rate.den);
  auto w = std::make_unique<Impl>();
  w->path = path;
  w->temp = fs::path(path.string() + ".tmp");
  // The container follows the final name's extension (the temp name has none FFmpeg knows).
  const AVOutputFormat* container = av_guess_format(nullptr, path.c_str(), nullptr);
  if (!container) container = av_guess_format("mp4", nullptr, nullptr);
  int rc = avformat_alloc_output_context2(&w->format, container, nullptr, w->temp.c_str());
  if (rc < 0) return w->fail("cannot create the container", rc);

  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_H264);
  if (!codec) codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
  if (!codec) return error(StatusCode::kUnsupported, path.string(), ": libavcodec has neither an H.264 nor an MPEG-4 encoder");
  w->encoder = avcodec_alloc_context3(codec);
  if (!w->encoder) return error(StatusCode::kInternal, path.string(), ": out of memory");
  AVCodecContext* enc = w->encoder;
  enc->width = width;
  enc->height = height;
  enc->time_base = {rate.den, rate.num};  // one tick per frame: pts is the frame index
  enc->framerate = {rate.num, rate.den};
  // 4:2:0 needs even sizes; H.264 can carry odd ones in 4:4:4.
  const bool even = width % 2 == 0 && height % 2 == 0;
  enc->pix_fmt = even || codec->id != AV_CODEC_ID_H264 ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_YUV444P;
  enc->thread_count = 0;
  if (w->format->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* options = nullptr;
  if (codec->id == AV_CODEC_ID_H264) {
    // Encoding must keep up with GPU inference: on 16 cores x264's veryfast took 5.0-5.7 ms a
    // 1080p frame whatever its thread count, superfast 4.1 ms (files 1.7x larger, PSNR alike).
    av_dict_set(&options, "preset", "superfast", 0);
  } else {
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 4;
  }
  rc = avcodec_open2(enc, codec, &options);
  av_dict_free(&options);
  if (rc < 0) return w->fail(std::string("cannot open the ") + codec->name + " encoder", rc);

  w->stream = avformat_new_stream(w->format, nullptr);
  if (!w->stream) return error(StatusCode::kInternal, path.string(), ": out of memory");
  w->stream->time_base = enc->time_base;
  w->stream->avg_frame_rate = enc->framerate;
  if ((rc = avcodec_parameters_from_context(w->stream->codecpar, enc)) < 0) return w->fail("bad encoder parameters", rc);

  w->frame = av_frame_alloc();
  w->packet = av_packet_alloc();
  if (!w->frame || !w->packet) return error(StatusCode::kInternal, path.string(), ": out of memory");
  w->frame->format = enc->pix_fmt;
  w->frame->width = width;
  w->frame->height = height;
  if ((rc = av_frame_get_buffer(w->frame, 0)) < 0) return w->fail("cannot allocate a frame", rc);
  // BGR -> YUV in slices on every usable core: on one thread it took a 1080p frame several
  // milliseconds, as long as the GPU takes for the whole prediction.
  w->from_bgr = sws_alloc_context();
  if (!w->from_bgr) return error(StatusCode::kInternal, path.string(), ": out of memory");
  av_opt_set_int(w->from_bgr, "srcw", width, 0);
  av_opt_set_int(w->from_bgr, "srch", height, 0);
  av_opt_set_int(w->from_bgr, "src_format", AV_PIX_FMT_BGR24, 0);
  av_opt_set_int(w->from_bgr, "dstw", width, 0);
  av_opt_set_int(w->from_bgr, "dsth", height, 0);
  av_opt_set_int(w->from_bgr, "dst_format", enc->pix_fmt, 0);
  av_opt_set_int(w->from_bgr, "sws_flags", SWS_BICUBIC, 0);
  av_opt_set_int(w->from_bgr, "threads", static_cast<int64_t>(core::usable_cores()), 0);
  if ((rc = sws_init_context(w->from_bgr, nullptr, nullptr)) < 0) return w->fail("no BGR to YUV converter", rc);
  w->bgr = av_frame_alloc();
  if (!w->bgr) return error(StatusCode::kInternal, path.string(), ": out of memory");
  w->bgr->format = AV_PIX_FMT_BGR24;
  w->bgr->width = width;
  w->bgr->height = height;
  w->bgr->linesize[0] = width * 3;

  if ((rc = avio_open(&w->format->pb, w->temp.c_str(), AVIO_FLAG_WRITE)) < 0)
    return error(StatusCode::kIoError, w->temp.string(), ": cannot create (", av_error(rc), ")");
  // The muxer may change the stream's time base here; encode() rescales packets to it.
  if ((rc = avformat_write_header(w->format, nullptr)) < 0) return w->fail("cannot write the header", rc);
  return VideoWriter(std::move(w));
}

Status VideoWriter::write(const uint8_t* bgr) {
  Impl& w = *impl_;
  if (w.finished) return error(StatusCode::kInvalidArgument, w.path.string(), ": write after finish");
  int rc = av_frame_make_writable(w.frame);  // the encoder may still hold the previous buffer
  if (rc < 0) return w.fail("cannot allocate a frame", rc);
  w.bgr->data[0] = const_cast<uint8_t*>(bgr);  // read only
  if ((rc = sws_scale_frame(w.from_bgr, w.frame, w.bgr)) < 0) return w.fail("cannot convert frame " + std::to_string(w.written + 1), rc);
  w.frame->pts = w.written;
  KILN_RETURN_IF_ERROR(w.encode(w.frame));
  ++w.written;
  return Status::Ok();
}

Status VideoWriter::finish() {
  Impl& w = *impl_;
  if (w.finished) return Status::Ok();
  KILN_RETURN_IF_ERROR(w.encode(nullptr));
  int rc = av_write_trailer(w.format);
  if (rc < 0) return w.fail("cannot write the trailer", rc);
  if ((rc = avio_closep(&w.format->pb)) < 0) return w.fail("cannot close", rc);
  std::error_code ec;
  fs::rename(w.temp, w.path, ec);
  if (ec) return error(StatusCode::kIoError, w.path.string(), ": cannot write: ", ec.message());
  w.finished = true;
  return Status::Ok();
}

}  // namespace kiln::video
