// kiln pipeline NAME: run a pipeline of kiln.yaml (src/pipeline: detector, optional
// tracker, second-stage models on crops) over images and videos, writing a JSON line per
// frame, the annotated frames and, with a tracker, MOTChallenge rows. Videos go through
// predict's video loop (predict_video.cpp) with the detector; its per-frame hook runs the
// tracker and the stages. Each sequence (a video, a stream, the images of the source) has a
// pipeline::Sequence of its own over the shared models, so the videos of a .streams list
// run side by side as predict's do. A source that fails (an unreadable image, a broken
// video) keeps what was done before it, the others run, and the command exits 2 at the end.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "cli_output.h"
#include "commands.h"
#include "core/file_util.h"
#include "core/json_text.h"
#include "core/spool.h"
#include "engine/config.h"
#include "interrupt.h"
#include "option_flags.h"
#include "pipeline/pipeline.h"
#include "pipeline_format.h"
#include "predict_format.h"
#include "predict_video.h"
#include "results_stream.h"
#include "save_crops.h"
#include "serial_writer.h"
#include "video/input_sources.h"

namespace kiln::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct PipelineArgs {
  std::string name;
  std::string config = "kiln.yaml";
  std::string source;
  std::string device;
  bool strict_gpu = false;
  std::string cache_dir;
  std::string save_dir;
  std::string json_out;
  std::string mot_out;
  bool save_crop = false;
  int vid_stride = 1;
  int64_t max_frames = 0;
  video::LiveOptions live;
  Verbosity verbosity = Verbosity::kNormal;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// What one sequence (a video, or the images of the source) leaves: JSON lines and MOT rows,
// each spooled to a temp file when asked for (sequences run side by side and are written in
// order at the end; a stream may run for days), and its stage times. The lines are
// formatted and spooled on a writer thread of the sequence's own, off the frame loop.
struct SequenceOutput {
  struct Files {
    std::optional<Spool> jsonl, mot;
    SerialWriter writer;
  };
  std::unique_ptr<Files> files = std::make_unique<Files>();
  StageTimes times;

  static Result<SequenceOutput> create(bool json, bool mot) {
    SequenceOutput out;
    KILN_ASSIGN_OR_RETURN(out.files->jsonl, Spool::create_if(json));
    KILN_ASSIGN_OR_RETURN(out.files->mot, Spool::create_if(mot));
    return out;
  }
  void add(const std::string& source, const pipeline::Pipeline& pipe, const pipeline::PipelineFrame& f) {
    times.add(f);
    if (!files->jsonl && !files->mot) return;
    files->writer.push([files = files.get(), source, &pipe, f]() -> Status {
      if (files->jsonl) KILN_RETURN_IF_ERROR(files->jsonl->append(json_text(frame_json(source, pipe, f)) + "\n"));
      for (size_t i = 0; files->mot && i < f.track_ids.size(); ++i)
        KILN_RETURN_IF_ERROR(files->mot->append(
            mot_row(f.number, f.track_ids[i], f.objects.boxes[i].box, f.objects.boxes[i].confidence)));
      return Status::Ok();
    });
  }
};

// The images of the source, in order, as one sequence.
// The first Ctrl-C stops it after the image in hand; what was done is written (interrupt.h).
Status run_images(pipeline::Pipeline& pipe, const PipelineArgs& o, const std::vector<fs::path>& images,
                  const Messages& messages, SequenceOutput& seq) {
  const std::vector<std::string>& names = pipe.detector().info().names;
  pipeline::Sequence sequence = pipe.start_sequence();
  FILE* lines = o.verbosity == Verbosity::kQuiet ? nullptr : stdout;
  Progress progress(messages, lines != stdout || !::isatty(STDOUT_FILENO) ? images.size() : 0, "images");
  stop_on_interrupt();
  for (size_t i = 0; i < images.size() && !interrupt_flag().load(); ++i) {
    KILN_ASSIGN_OR_RETURN(Image image, load_image(images[i]));
    KILN_ASSIGN_OR_RETURN(pipeline::PipelineFrame f, sequence.process(image, static_cast<int64_t>(i) + 1));
    if (lines)
      std::fprintf(lines, "image %zu/%zu %s: %dx%d %s%.1fms\n", i + 1, images.size(), images[i].filename().string().c_str(),
                   f.objects.input_height, f.objects.input_width, summarize(f.objects, names).c_str(),
                   f.objects.speed.inference_ms);
    seq.add(images[i].filename().string(), pipe, f);
    if (o.save_crop) KILN_RETURN_IF_ERROR(save_crops(image, f.objects, names, fs::path(o.save_dir) / "crops", images[i].stem().string()));
    if (!o.save_dir.empty()) {
      draw_pipeline_frame(image, pipe, f);
      KILN_RETURN_IF_ERROR(save_jpeg(fs::path(o.save_dir) / images[i].filename().replace_extension(".jpg"), image));
    }
    progress.update(i + 1);
  }
  return Status::Ok();
}

// One video through predict's loop with a sequence of its own (safe beside the other
// videos' threads); the frames done before a failure are kept in `seq`.
VideoOutcome run_video(pipeline::Pipeline& pipe, const PipelineArgs& o, const video::VideoSource& video, size_t index,
                       size_t total, Messages& messages, SequenceOutput& seq) {
  const std::string& source = video.name;
  pipeline::Sequence sequence = pipe.start_sequence();
  pipeline::PipelineFrame current;  // the hook's last frame, which the draw hook gets next
  VideoJob job;
  job.source = video;
  job.live = o.live;
  job.index = index, job.total = total;
  job.save_dir = o.save_dir;
  job.save_crop = o.save_crop;
  job.vid_stride = o.vid_stride;
  job.max_frames = o.max_frames;
  job.lines = o.verbosity == Verbosity::kQuiet ? nullptr : stdout;
  job.strict_gpu = o.strict_gpu;
  job.frame_json = FrameJson::kDrop;  // the sequence writes its own lines, with the stages' outputs
  // NVDEC's frames go to the stages where they are, unless the tracker's motion
  // compensation needs host pixels.
  job.on_prediction_reads_image = pipe.needs_host_frames();
  job.on_prediction = [&](int64_t frame, const Image& image, const Frame* device, Prediction& p) -> Status {
    KILN_ASSIGN_OR_RETURN(current, device && !pipe.needs_host_frames()
                                       ? sequence.process_detections(*device, frame, std::move(p))
                                       : sequence.process_detections(image, frame, std::move(p)));
    p = current.objects;
    seq.add(source, pipe, current);
    return Status::Ok();
  };
  job.draw = [&](Image& image, const Prediction&) { draw_pipeline_frame(image, pipe, current); };
  return predict_video(pipe.detector(), pipe.detector_options(), job, messages);
}

int run(PipelineArgs o) {
  Messages messages("pipeline", o.verbosity);
  auto fail = [](const Status& st) { return report_error("pipeline", st); };
  if (o.vid_stride < 1) return fail(error(StatusCode::kInvalidArgument, "--vid-stride must be at least 1, got ", o.vid_stride));
  if (o.max_frames < 0) return fail(error(StatusCode::kInvalidArgument, "--max-frames must not be negative, got ", o.max_frames));
  if (o.save_crop && o.save_dir.empty()) return fail(error(StatusCode::kInvalidArgument, "--save-crop writes into <save>/crops: add --save DIR"));
  Result<std::optional<Device>> device = device_flag(o.device);
  if (!device.ok()) return fail(device.status());
  if (Status st = check_strict_gpu(o.strict_gpu, *device); !st.ok()) return fail(st);
  Result<engine::Config> config = engine::load_config(o.config);
  if (!config.ok()) return fail(config.status());
  Result<video::InputSources> sources = video::list_input_sources(o.source);
  if (!sources.ok()) return fail(sources.status());
  if (Status st = check_output_flags({&o.json_out, &o.mot_out}); !st.ok()) return fail(st);
  pipeline::PipelineOverrides overrides;
  if (!o.device.empty()) overrides.device = o.device;
  overrides.strict_gpu = o.strict_gpu;
  overrides.cache_dir = o.cache_dir;
  BuildProgress build_progress(messages);
  overrides.progress = build_progress.hook();
  Result<pipeline::Pipeline> loaded = pipeline::Pipeline::load(*config, o.name, overrides);
  build_progress.finish();
  if (!loaded.ok()) return fail(loaded.status());
  pipeline::Pipeline& pipe = *loaded;
  const size_t sequences = sources->videos.size() + (sources->images.empty() ? 0 : 1);
  if (!o.mot_out.empty() && (!pipe.tracks() || sequences != 1))
    return fail(error(StatusCode::kInvalidArgument, "--mot writes the tracks of one sequence: pipeline '", o.name, "' ",
                      pipe.tracks() ? "has a tracker, but " + o.source + " holds " + std::to_string(sequences) + " sequences"
                                    : std::string("has no tracker")));
  if (!o.save_dir.empty()) {
    std::error_code ec;
    fs::create_directories(o.save_dir, ec);
    if (ec) return fail(error(StatusCode::kIoError, o.save_dir, ": cannot create: ", ec.message()));
  }

  // The output files are opened before any frame (a bad path fails first) and move into
  // place at the end; nothing is left of them on an error.
  Result<std::optional<AtomicFile>> json_file = open_output_file(o.json_out);
  if (!json_file.ok()) return fail(json_file.status());
  Result<std::optional<AtomicFile>> mot_file = open_output_file(o.mot_out);
  if (!mot_file.ok()) return fail(mot_file.status());
  auto new_output = [&]() { return SequenceOutput::create(json_file->has_value(), mot_file->has_value()); };
  std::vector<std::string> failures;
  auto finish = [&](const std::string& source, SequenceOutput& seq, double wall_s, const nlohmann::json& extra) -> Status {
    if (o.verbosity != Verbosity::kQuiet) std::printf("%s\n", seq.times.line(source, pipe, wall_s).c_str());
    KILN_RETURN_IF_ERROR(seq.files->writer.finish());
    if (AtomicFile* file = json_file->has_value() ? &**json_file : nullptr) {
      KILN_RETURN_IF_ERROR(seq.files->jsonl->copy_to(*file));
      KILN_RETURN_IF_ERROR(file->append(json_text(seq.times.summary(source, pipe, wall_s, extra)) + "\n"));
    }
    if (AtomicFile* file = mot_file->has_value() ? &**mot_file : nullptr)
      KILN_RETURN_IF_ERROR(seq.files->mot->copy_to(*file));
    return Status::Ok();
  };
  if (!sources->images.empty()) {
    const std::string source = fs::path(o.source).filename().string();
    Result<SequenceOutput> seq = new_output();
    if (!seq.ok()) return fail(seq.status());
    const Clock::time_point t0 = Clock::now();
    if (Status st = run_images(pipe, o, sources->images, messages, *seq); !st.ok()) failures.push_back(st.message());
    (void)seq->files->writer.finish();  // the wall time includes the writes; finish() reports them
    if (Status st = finish(source, *seq, seconds_since(t0), nlohmann::json()); !st.ok()) return fail(st);
  }
  // A list's videos side by side, each with its own sequence and output, written in the
  // list's order once all have ended.
  std::vector<SequenceOutput> outputs;
  for (size_t i = 0; i < sources->videos.size(); ++i) {
    Result<SequenceOutput> seq = new_output();
    if (!seq.ok()) return fail(seq.status());
    outputs.push_back(std::move(seq).value());
  }
  std::vector<double> walls(sources->videos.size());
  std::vector<VideoOutcome> videos = run_videos(sources->videos.size(), sources->together, [&](size_t i) {
    const Clock::time_point t0 = Clock::now();
    VideoOutcome video = run_video(pipe, o, sources->videos[i], i + 1, sources->videos.size(), messages, outputs[i]);
    (void)outputs[i].files->writer.finish();
    walls[i] = seconds_since(t0);
    return video;
  });
  for (size_t i = 0; i < videos.size(); ++i) {
    const VideoOutcome& video = videos[i];
    if (!video.status.ok()) failures.push_back(video.status.message());
    nlohmann::json extra = video.json.value("speed", nlohmann::json::object());
    extra.erase("frames"), extra.erase("wall_s"), extra.erase("end_to_end_fps");
    for (const char* key : {"decoder", "fallback", "reconnects"})
      if (video.json.contains(key)) extra[key] = video.json[key];
    if (Status st = finish(sources->videos[i].name, outputs[i], walls[i], extra); !st.ok()) return fail(st);
  }
  std::fflush(stdout);
  for (std::optional<AtomicFile>* file : {&*json_file, &*mot_file})
    if (*file)
      if (Status st = (*file)->commit(); !st.ok()) return fail(st);
  if (!o.save_dir.empty() && o.verbosity != Verbosity::kQuiet) std::printf("Results saved to %s\n", o.save_dir.c_str());
  if (failures.empty()) return kExitOk;
  std::string text = failures[0];
  if (failures.size() > 1) text += " (and " + std::to_string(failures.size() - 1) + " more failed sources)";
  return fail(error(StatusCode::kInvalidArgument, text, "; the frames before it were kept"));
}

}  // namespace

Runner register_pipeline(CLI::App& app) {
  auto o = std::make_shared<PipelineArgs>();
  CLI::App* cmd = app.add_subcommand("pipeline", "Run a pipeline of kiln.yaml: detect, track, second-stage models on crops");
  cmd->add_option("name", o->name, "the pipeline's name under pipelines: in the config")->required();
  cmd->add_option("--config", o->config, "kiln.yaml with the pipeline and its models")->capture_default_str();
  cmd->add_option("--source", o->source,
                  "image, video, directory, quoted glob (images run as one sequence), URL (rtsp://, http://, ...), "
                  "camera (0, /dev/video0) or a .streams / .txt list")
      ->required();
  cmd->add_option("--device", o->device, "cpu | cuda | cuda:N for every model (default: the config's)");
  cmd->add_flag("--strict-gpu", o->strict_gpu,
                "fail instead of falling back to the CPU: a model on the CPU, or a video NVDEC cannot decode");
  cmd->add_option("--cache-dir", o->cache_dir, "engine cache folder (default: the config's, $KILN_CACHE_DIR, ~/.cache/kiln)");
  cmd->add_option("--save", o->save_dir, "write annotated images (.jpg) and videos (.mp4) into DIR");
  cmd->add_flag("--save-crop", o->save_crop, "write each object's crop into <save>/crops/<class>/ (as Ultralytics' save_crop)");
  cmd->add_option("--json", o->json_out, "write one JSON line per frame, and a summary line per sequence");
  cmd->add_option("--mot", o->mot_out, "write MOTChallenge rows of the tracked objects (pipelines with a tracker)");
  cmd->add_option("--vid-stride", o->vid_stride, "run every N-th video frame")->capture_default_str();
  cmd->add_option("--max-frames", o->max_frames, "stop each video or stream after N frames (0: all)")->capture_default_str();
  add_live_flags(*cmd, o->live);
  add_verbosity_flags(*cmd, o->verbosity);
  return [o]() { return run(*o); };
}

}  // namespace kiln::cli
