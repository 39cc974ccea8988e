#include "predict_video.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "api/prediction_json.h"
#include "bounded_queue.h"
#include "interrupt.h"
#include "core/file_util.h"
#include "kiln/annotate.h"
#include "predict_format.h"
#include "save_crops.h"
#include "video/video_io.h"

namespace kiln::cli {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct DecodedFrame {
  int64_t number = 0;  // 1-based among the predicted frames, as Ultralytics counts them
  Image image;                // CPU decoding: the BGR frame
  video::DeviceFrame device;  // NVDEC: the NV12 frame in device memory
  std::string reconnect;      // the stream dropped and came back before this frame: what happened
  bool on_gpu = false;        // `device` holds it (else `image`)
  std::string fallback;       // NVDEC gave up on the stream at this frame: why
};

Frame device_frame(const video::DeviceFrame& d) {
  Frame f;
  f.width = d.width, f.height = d.height;
  f.format = PixelFormat::kNv12;
  f.memory = FrameMemory::kDevice;
  for (int p = 0; p < 2; ++p) f.planes[p] = d.planes[p], f.pitch[p] = d.pitch[p];
  return f;  // stream nullptr: FFmpeg's CUDA frames are ready on the legacy default stream
}

// An NVDEC frame's pixels on the host, BGR (converted on the GPU).
Result<Image> download(const video::DeviceFrame& d) { return to_image(device_frame(d)); }

// Where the video is decoded when the model runs on a GPU: said once per reason, or refused.
// Returns the note ("" when there is none), which the video's JSON carries too.
Result<std::string> report_decoder(const video::SourceReader& reader, const ModelInfo& info, const VideoJob& job,
                                   Messages& messages) {
  const video::DecoderChoice& c = reader.decoder();
  if (!info.device.is_cuda() || c.gpu) return std::string();
  if (job.strict_gpu)
    return error(StatusCode::kUnsupported, job.source.name, ": --strict-gpu: the video would be decoded on the CPU: ", c.reason);
  const std::string note = "video decoded on the CPU: " + c.reason;
  messages.event_once("fallback", note);
  return note;
}

// Frames in flight per queue: enough to absorb jitter between stages, small enough that a
// 4K stream stays within a few hundred MB.
constexpr size_t kQueueDepth = 8;

// Stage times summed over the predicted frames, in ms.
struct StageTotals {
  double decode = 0, preprocess = 0, inference = 0, postprocess = 0, annotate = 0, encode = 0;
};

}  // namespace

VideoOutcome predict_video(Model& model, const PredictOptions& options, const VideoJob& job, Messages& messages) {
  const Clock::time_point start = Clock::now();
  const ModelInfo& info = model.info();
  const std::string& name = job.source.name;
  VideoOutcome out{Status::Ok(), {{"video", name}}, std::nullopt};
  auto failed = [&](Status st) {
    out.status = std::move(st);
    return std::move(out);
  };
  stop_on_interrupt();
  video::LiveOptions live = job.live;
  live.stream.stop = &interrupt_flag();
  if (info.device.is_cuda()) live.stream.cuda_device = info.device.index;
  Result<video::SourceReader> opened = video::SourceReader::open(job.source, live);
  if (!opened.ok()) return failed(opened.status());
  video::SourceReader reader = std::move(opened).value();
  Result<std::string> fallback = report_decoder(reader, info, job, messages);
  if (!fallback.ok()) return failed(fallback.status());
  const bool on_gpu = reader.decoder().gpu;  // at the start: NVDEC may give up mid-stream
  messages.detail(name + ": opened in " + std::to_string(static_cast<int>(ms_since(start))) + " ms, decoding " +
                  (on_gpu ? "with NVDEC" : "on the CPU"));
  std::string decoder_note = *fallback;
  // Host pixels of a GPU frame are needed only to draw, crop or hand to the hook.
  const bool need_image = !job.save_dir.empty() || job.save_crop || (job.on_prediction && job.on_prediction_reads_image);
  const video::VideoInfo vinfo = reader.info();
  const fs::path out_path = job.save_dir.empty() ? fs::path() : job.save_dir / (job.source.stem + ".mp4");
  std::error_code ec;
  if (!out_path.empty() && !job.source.live() && fs::equivalent(out_path, job.source.locator, ec))
    return failed(error(StatusCode::kInvalidArgument, out_path.string(), ": would overwrite the source video; choose another --save"));
  // Every vid_stride-th frame is kept, so the saved video plays them at rate / vid_stride
  // to last as long as the source.
  const video::FrameRate saved_rate{vinfo.frame_rate.num, vinfo.frame_rate.den * job.vid_stride};
  std::optional<video::VideoWriter> writer;
  if (!out_path.empty()) {
    Result<video::VideoWriter> w = video::VideoWriter::open(out_path, vinfo.width, vinfo.height, saved_rate);
    if (!w.ok()) return failed(w.status());
    writer.emplace(std::move(w).value());
  }
  // Ultralytics' "(frame i/N)": N is what the file declares, divided by the stride; a live
  // source declares none.
  const int64_t declared = vinfo.frame_count / job.vid_stride;
  const bool bar = job.lines != stdout || !::isatty(STDOUT_FILENO);  // on a terminal the lines are the progress
  Progress progress(messages, bar && declared > 0 ? static_cast<size_t>(declared) : 0, "frames of " + name);
  RateProgress live_progress(messages, bar && declared == 0, "frames of " + name);

  BoundedQueue<DecodedFrame> decoded(kQueueDepth);
  BoundedQueue<Image> annotated(kQueueDepth);
  Status decode_status, encode_status;
  double decode_ms = 0, encode_ms = 0, download_ms = 0;

  std::string reconnect;  // said with the next frame once the stream is back (or at the end)
  std::thread decoder([&] {
    auto on_reconnect = [&](const std::string& what) { reconnect += (reconnect.empty() ? "" : "; ") + what; };
    for (int64_t index = 1, kept = 0;; ++index) {
      // A live stream never ends by itself: stop before reading a frame that is not wanted.
      if (job.max_frames > 0 && kept >= job.max_frames) break;
      if (interrupt_flag().load()) break;
      const Clock::time_point t0 = Clock::now();
      DecodedFrame f{kept + 1, {}, {}, {}, reader.decoder().gpu, {}};
      if (!f.on_gpu) f.image = Image(vinfo.width, vinfo.height);
      Result<bool> more = f.on_gpu ? reader.read_device(f.device, on_reconnect) : reader.read(f.image.pixels, on_reconnect);
      if (!more.ok() && reader.nvdec_gave_up() && !job.strict_gpu) {  // the CPU decodes the rest
        reader.continue_on_cpu();
        f.fallback = reader.decoder().reason;
        f.on_gpu = false;
        f.image = Image(vinfo.width, vinfo.height);
        more = reader.read(f.image.pixels, on_reconnect);
      }
      decode_ms += ms_since(t0);
      if (!more.ok()) {
        decode_status = more.status();  // the frames before it are predicted and kept
        break;
      }
      if (!*more) break;
      if (index % job.vid_stride != 0) continue;
      f.reconnect = std::move(reconnect);
      reconnect.clear();
      ++kept;
      if (!decoded.push(std::move(f))) return;
    }
    decoded.close();
  });
  std::thread encoder([&] {
    if (!writer) return;
    while (std::optional<Image> img = annotated.pop()) {
      const Clock::time_point t0 = Clock::now();
      encode_status = writer->write(img->pixels.data());
      encode_ms += ms_since(t0);
      if (!encode_status.ok()) {
        annotated.cancel();
        return;
      }
    }
  });
  auto stop = [&](Status st) {
    decoded.cancel();
    annotated.cancel();
    if (decoder.joinable()) decoder.join();
    if (encoder.joinable()) encoder.join();
    out.status = std::move(st);
    return std::move(out);
  };

  // While the decoder opens its stream and decodes the first frame, the model gets ready for
  // the video's size (a dynamic model's engine for it, kernels loaded), not after it.
  if (Status st = model.prepare(vinfo.width, vinfo.height); !st.ok()) return stop(st);
  const size_t batch = info.dynamic_input ? 1 : static_cast<size_t>(info.batch);
  nlohmann::json frames = nlohmann::json::array(), reconnects = nlohmann::json::array();
  std::optional<JsonSpool> spool;
  if (job.frame_json == FrameJson::kSpool) {
    Result<JsonSpool> created = JsonSpool::create();
    if (!created.ok()) return stop(created.status());
    spool.emplace(std::move(created).value());
  }
  std::map<std::string, std::string> labels;  // file name -> text, written after success
  StageTotals t;
  int64_t count = 0;
  bool more = true;
  while (more) {
    std::vector<DecodedFrame> group;
    while (group.size() < batch) {
      std::optional<DecodedFrame> f = decoded.pop();
      if (!f) {
        more = false;
        break;
      }
      if (!f->reconnect.empty()) {
        messages.event("reconnect", f->reconnect);
        reconnects.push_back(f->reconnect);
      }
      if (!f->fallback.empty()) {
        decoder_note = "video decoded on the CPU: " + f->fallback;
        messages.event_once("fallback", decoder_note);
      }
      group.push_back(std::move(*f));
    }
    if (group.empty()) break;
    std::vector<Image> images;
    std::vector<Frame> device_frames;  // NVDEC's frames the model ran on, until the hook has had them
    Result<std::vector<Prediction>> preds = std::vector<Prediction>{};
    if (std::all_of(group.begin(), group.end(), [](const DecodedFrame& f) { return f.on_gpu; })) {
      for (const DecodedFrame& f : group) device_frames.push_back(device_frame(f.device));
      preds = model.predict(std::span<const Frame>(device_frames), options);
      const Clock::time_point t0 = Clock::now();
      for (DecodedFrame& f : group) {
        Result<Image> image = need_image ? download(f.device) : Image();
        if (!image.ok()) return stop(image.status());
        images.push_back(std::move(image).value());
      }
      download_ms += ms_since(t0);
    } else {
      for (DecodedFrame& f : group) {  // NVDEC's frames before it gave up, if any, on the host too
        Result<Image> image = f.on_gpu ? download(f.device) : Result<Image>(std::move(f.image));
        if (!image.ok()) return stop(image.status());
        images.push_back(std::move(image).value());
      }
      preds = model.predict(images, options);
    }
    if (!preds.ok()) return stop(preds.status());
    for (size_t k = 0; k < group.size(); ++k) {
      Prediction& p = (*preds)[k];
      const int64_t number = group[k].number;
      if (job.on_prediction) {
        Status st = job.on_prediction(number, images[k], device_frames.empty() ? nullptr : &device_frames[k], p);
        if (!st.ok()) return stop(st);
      }
      if (group[k].on_gpu) group[k].device = {};  // FFmpeg's frame goes back to its pool
      ++count;
      t.preprocess += p.speed.preprocess_ms, t.inference += p.speed.inference_ms, t.postprocess += p.speed.postprocess_ms;
      if (job.lines)
        std::fprintf(job.lines, "video %zu/%zu (frame %lld%s) %s: %dx%d %s%.1fms\n", job.index, job.total,
                     static_cast<long long>(number), declared > 0 ? ("/" + std::to_string(declared)).c_str() : "",
                     job.source.locator.c_str(), p.input_height, p.input_width, summarize(p, info.names).c_str(),
                     p.speed.inference_ms);
      if (messages.verbosity() == Verbosity::kVerbose)  // not built for nothing every frame
        messages.detail("frame " + std::to_string(number) + ": " + stage_times(p.speed) + ", done at " +
                        std::to_string(static_cast<int>(ms_since(start))) + " ms");
      if (job.frame_json != FrameJson::kDrop) {
        nlohmann::json entry = api::prediction_json(p, info.names, job.masks);
        entry["frame"] = number;
        if (spool) {
          if (Status st = spool->push(entry); !st.ok()) return stop(st);
        } else {
          frames.push_back(std::move(entry));
        }
      }
      if (job.save_txt) {
        std::string text = yolo_txt(p, info, vinfo.width, vinfo.height, job.save_conf);
        if (!text.empty()) labels[job.source.stem + "_" + std::to_string(number) + ".txt"] = std::move(text);
      }
      if (job.save_crop) {
        Status st = save_crops(images[k], p, info.names, job.save_dir / "crops", job.source.stem + "_" + std::to_string(number));
        if (!st.ok()) return stop(st);
      }
      if (writer) {
        const Clock::time_point t0 = Clock::now();
        if (job.draw)
          job.draw(images[k], p);
        else
          draw_prediction(images[k], p, info.names, job.style);
        t.annotate += ms_since(t0);
        if (!annotated.push(std::move(images[k]))) return stop(encode_status);
      }
      progress.update(static_cast<size_t>(std::min<int64_t>(count, declared)));
      live_progress.update(static_cast<size_t>(count));
    }
    if (job.lines) std::fflush(job.lines);
  }
  decoder.join();
  if (!reconnect.empty()) {  // came back without a frame before it ended
    messages.event("reconnect", reconnect);
    reconnects.push_back(reconnect);
  }
  if (interrupt_flag().load())
    messages.event("note", name + ": stopped by Ctrl-C after " + std::to_string(count) + " frames; what was done is written");
  annotated.close();
  encoder.join();
  if (!encode_status.ok()) return failed(encode_status);
  if (writer) {
    const Clock::time_point t0 = Clock::now();
    if (Status st = writer->finish(); !st.ok()) return failed(st);
    encode_ms += ms_since(t0);
  }
  for (const auto& [file, text] : labels)
    if (Status st = write_file_atomic(job.save_dir / "labels" / file, text.data(), text.size()); !st.ok()) return failed(st);
  t.decode = decode_ms + download_ms, t.encode = encode_ms;

  const double wall_s = ms_since(start) / 1000.0;
  const double n = count > 0 ? static_cast<double>(count) : 1.0;
  const double fps = count / wall_s;
  if (job.lines) {
    std::fprintf(job.lines,
                 "Video %s: %lld frames %dx%d at %.2f fps in %.2fs: %.1f FPS end to end; per frame %.1fms decode, "
                 "%.1fms preprocess, %.1fms inference, %.1fms postprocess, %.1fms annotate, %.1fms encode "
                 "(decode and encode run beside inference)\n",
                 name.c_str(), static_cast<long long>(count), vinfo.width, vinfo.height, vinfo.frame_rate.fps(), wall_s,
                 fps, t.decode / n, t.preprocess / n, t.inference / n, t.postprocess / n, t.annotate / n, t.encode / n);
    if (writer) std::fprintf(job.lines, "Video saved to %s (%.2f fps)\n", out_path.string().c_str(), saved_rate.fps());
    std::fflush(job.lines);
  }
  out.json = {{"video", name},
              {"width", vinfo.width},
              {"height", vinfo.height},
              {"fps", vinfo.frame_rate.fps()},
              {"saved_fps", writer ? saved_rate.fps() : 0.0},
              {"decoder", on_gpu ? "nvdec" : "cpu"},
              {"fallback", decoder_note},
              {"frames", std::move(frames)},
              {"reconnects", std::move(reconnects)},
              {"speed",
               {{"frames", count},
                {"wall_s", wall_s},
                {"end_to_end_fps", fps},
                {"decode_ms", t.decode / n},
                {"preprocess_ms", t.preprocess / n},
                {"inference_ms", t.inference / n},
                {"postprocess_ms", t.postprocess / n},
                {"annotate_ms", t.annotate / n},
                {"encode_ms", t.encode / n}}}};
  if (job.frame_json != FrameJson::kKeep) out.json.erase("frames");
  out.frames = std::move(spool);
  out.status = decode_status;
  return out;
}

std::vector<VideoOutcome> run_videos(size_t n, bool together, const std::function<VideoOutcome(size_t)>& run) {
  std::vector<VideoOutcome> outcomes(n);
  if (!together || n < 2) {
    for (size_t i = 0; i < n; ++i) outcomes[i] = run(i);
    return outcomes;
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < n; ++i) threads.emplace_back([&, i] { outcomes[i] = run(i); });
  for (std::thread& t : threads) t.join();
  return outcomes;
}

}  // namespace kiln::cli
