// kiln track: detect objects in a video (or a folder of frames) and track them across
// frames with ByteTrack or BoT-SORT (src/track), as `yolo track` does: the tracked objects
// per frame with their ids, an annotated video with ids and trails, JSON lines and a
// MOTChallenge txt. Videos go through predict's video loop (predict_video.cpp), whose
// per-frame hook hands each prediction to the tracker.
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

#include "api/prediction_json.h"
#include "cli_output.h"
#include "commands.h"
#include "core/file_util.h"
#include "core/json_text.h"
#include "core/spool.h"
#include "kiln/annotate.h"
#include "kiln/image.h"
#include "kiln/model.h"
#include "interrupt.h"
#include "model_args.h"
#include "option_flags.h"
#include "predict_format.h"
#include "predict_video.h"
#include "results_stream.h"
#include "track/tracker.h"
#include "video/input_sources.h"

namespace kiln::cli {

namespace {

namespace fs = std::filesystem;

// Ultralytics' track example draws the last 30 centers of each track.
constexpr size_t kTrailLength = 30;

struct TrackOptions {
  std::string model;
  std::string source;
  std::string tracker = "bytetrack.yaml";
  float conf = 0.1f;  // `yolo track` predicts at 0.1 so ByteTrack sees low-score boxes
  double iou = 0.7;
  int imgsz = 640;
  const CLI::Option* imgsz_flag = nullptr;
  std::vector<int> classes;
  std::string device;
  bool strict_gpu = false;
  std::string precision;
  std::string save_dir;
  std::string json_out;
  std::string mot_out;
  int vid_stride = 1;
  int64_t max_frames = 0;
  video::LiveOptions live;
  Verbosity verbosity = Verbosity::kNormal;
};

// One sequence (a video, or the images of the source as consecutive frames): the tracker,
// the trails, and the JSON lines and MOT rows, spooled to temp files when asked for
// (sequences run side by side and are written in order at the end; a stream may run for
// days), so that memory does not grow with the frames.
class Sequence {
 public:
  static Result<std::unique_ptr<Sequence>> create(const track::TrackerConfig& config, std::string name, bool json,
                                                  bool mot) {
    auto seq = std::unique_ptr<Sequence>(new Sequence(config, std::move(name)));
    KILN_ASSIGN_OR_RETURN(seq->jsonl_, Spool::create_if(json));
    KILN_ASSIGN_OR_RETURN(seq->mot_, Spool::create_if(mot));
    return seq;
  }

  // Replaces the frame's detections by its tracked objects (their Kalman boxes, the score
  // and class of the matched detection, and its mask or keypoints), and spools the frame's
  // JSON line and MOT rows; `image` is the frame (BoT-SORT's motion compensation).
  Status apply(int64_t frame, const Image& image, Prediction& p, const std::vector<std::string>& names) {
    std::vector<track::TrackDetection> dets;
    for (const Detection& d : p.boxes) dets.push_back({d.box, d.confidence, d.class_id, {}});
    const auto t0 = std::chrono::steady_clock::now();
    KILN_ASSIGN_OR_RETURN(std::vector<track::TrackedObject> tracks, tracker_.update(dets, view_of(image)));
    track_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    Prediction out;
    out.input_width = p.input_width, out.input_height = p.input_height, out.speed = p.speed;
    ids_.clear();
    for (const track::TrackedObject& t : tracks) {
      out.boxes.push_back({t.class_id, t.score, t.box});
      if (static_cast<size_t>(t.detection_index) < p.masks.size()) out.masks.push_back(p.masks[t.detection_index]);
      if (static_cast<size_t>(t.detection_index) < p.keypoints.size())
        out.keypoints.push_back(p.keypoints[t.detection_index]);
      ids_.push_back(t.track_id);
      // Ids are issued in increasing order as tracks are activated: a new one passes the
      // largest seen.
      if (t.track_id > max_id_) ++tracks_seen_, max_id_ = t.track_id;
      Trail& trail = trails_[t.track_id];
      trail.last_seen = frames_;
      trail.centers.emplace_back((t.box.x1 + t.box.x2) / 2, (t.box.y1 + t.box.y2) / 2);
      if (trail.centers.size() > kTrailLength) trail.centers.pop_front();
      if (mot_) KILN_RETURN_IF_ERROR(mot_->append(mot_row(frame, t.track_id, t.box, t.score)));
    }
    // The trail of a track unseen for a trail's length of frames would be empty: dropped.
    std::erase_if(trails_, [&](const auto& kv) { return frames_ - kv.second.last_seen > static_cast<int64_t>(kTrailLength); });
    p = std::move(out);
    ++frames_;
    return jsonl_ ? jsonl_->append(json_line(frame, api::prediction_json(p, names))) : Status::Ok();
  }

  // Draws the frame last given to apply().
  void draw(Image& image, const Prediction& p, const std::vector<std::string>& names) const {
    std::vector<TrackMark> marks;
    for (int id : ids_) {
      const auto& trail = trails_.at(id).centers;
      marks.push_back({id, {trail.begin(), trail.end()}});
    }
    draw_tracked(image, p, marks, names);
  }

  // Appends the sequence's JSON lines, then one line per `events` ({"event", "message"}).
  Status write_json(AtomicFile& file, const std::vector<std::pair<std::string, std::string>>& events) {
    KILN_RETURN_IF_ERROR(jsonl_->copy_to(file));
    for (const auto& [event, message] : events)
      KILN_RETURN_IF_ERROR(file.append(json_text(nlohmann::json{{"source", name_}, {"event", event}, {"message", message}}) + "\n"));
    return Status::Ok();
  }
  Status write_mot(AtomicFile& file) {
    return mot_->copy_to(file);
  }

  // "Tracking: 0.05ms per frame, 12 tracks" after the sequence's own summary.
  void print_summary() const {
    const double frames = frames_ ? static_cast<double>(frames_) : 1.0;
    std::printf("Tracking %s: %.3fms per frame, %zu tracks\n", name_.c_str(), track_ms_ / frames, tracks_seen_);
    std::fflush(stdout);
  }

 private:
  struct Trail {
    std::deque<std::pair<float, float>> centers;
    int64_t last_seen = 0;  // frames_ when its track was last in a frame
  };
  Sequence(const track::TrackerConfig& config, std::string name) : tracker_(config), name_(std::move(name)) {}

  // One JSON line per frame: {"source", "frame", "detections": [... with "track_id"]}.
  std::string json_line(int64_t frame, nlohmann::json entry) const {
    nlohmann::json line = {{"source", name_}, {"frame", frame}};
    nlohmann::json& dets = entry["detections"];
    for (size_t k = 0; k < dets.size() && k < ids_.size(); ++k) dets[k]["track_id"] = ids_[k];
    line["detections"] = std::move(dets);
    return json_text(line) + "\n";
  }

  track::Tracker tracker_;
  std::string name_;
  std::vector<int> ids_;  // of the last frame, in its objects' order
  std::map<int, Trail> trails_;
  int max_id_ = 0;
  size_t tracks_seen_ = 0;
  std::optional<Spool> jsonl_, mot_;
  int64_t frames_ = 0;  // given to apply()
  double track_ms_ = 0;
};

// The images of the source, in order, as one sequence (Ultralytics' track with persist=True).
// The first Ctrl-C stops it after the image in hand; what was done is written (interrupt.h).
Status track_images(Model& model, const kiln::PredictOptions& po, const TrackOptions& o,
                    const std::vector<fs::path>& images, Sequence& seq) {
  const ModelInfo& info = model.info();
  stop_on_interrupt();
  for (size_t i = 0; i < images.size() && !interrupt_flag().load(); ++i) {
    const int64_t frame = static_cast<int64_t>(i) + 1;
    KILN_ASSIGN_OR_RETURN(Image image, load_image(images[i]));
    KILN_ASSIGN_OR_RETURN(Prediction p, model.predict(image, po));
    KILN_RETURN_IF_ERROR(seq.apply(frame, image, p, info.names));
    if (o.verbosity != Verbosity::kQuiet) {
      std::printf("image %zu/%zu %s: %dx%d %s%.1fms\n", i + 1, images.size(), images[i].filename().string().c_str(),
                  p.input_height, p.input_width, summarize(p, info.names).c_str(), p.speed.inference_ms);
      std::fflush(stdout);
    }
    if (!o.save_dir.empty()) {
      seq.draw(image, p, info.names);
      KILN_RETURN_IF_ERROR(save_jpeg(fs::path(o.save_dir) / images[i].filename().replace_extension(".jpg"), image));
    }
  }
  return Status::Ok();
}

Status track(const TrackOptions& o) {
  if (o.conf < 0 || o.conf > 1) return error(StatusCode::kInvalidArgument, "--conf must be in [0, 1], got ", o.conf);
  if (o.iou < 0 || o.iou > 1) return error(StatusCode::kInvalidArgument, "--iou must be in [0, 1], got ", o.iou);
  if (o.imgsz < 1) return error(StatusCode::kInvalidArgument, "--imgsz must be positive, got ", o.imgsz);
  if (o.vid_stride < 1) return error(StatusCode::kInvalidArgument, "--vid-stride must be at least 1, got ", o.vid_stride);
  if (o.max_frames < 0) return error(StatusCode::kInvalidArgument, "--max-frames must not be negative, got ", o.max_frames);
  KILN_ASSIGN_OR_RETURN(track::TrackerConfig config, track::load_tracker_config(o.tracker));
  if (config.with_reid)
    return error(StatusCode::kUnsupported, o.tracker,
                 ": with_reid needs appearance features, which kiln track does not compute yet; set with_reid: False");
  if (!fs::exists(o.model)) return error(StatusCode::kNotFound, o.model, ": no such file");
  KILN_ASSIGN_OR_RETURN(video::InputSources sources, video::list_input_sources(o.source));
  const size_t sequences = sources.videos.size() + (sources.images.empty() ? 0 : 1);
  if (!o.mot_out.empty() && sequences != 1)
    return error(StatusCode::kInvalidArgument, "--mot writes one sequence, but ", o.source, " holds ", sequences,
                 " (give one video or one folder of frames)");
  KILN_RETURN_IF_ERROR(check_output_flags({&o.json_out, &o.mot_out}));
  ModelOptions mo;
  KILN_ASSIGN_OR_RETURN(mo.device, device_flag(o.device));
  KILN_RETURN_IF_ERROR(check_strict_gpu(o.strict_gpu, mo.device));
  mo.strict_gpu = o.strict_gpu;
  KILN_ASSIGN_OR_RETURN(mo.precision, precision_flag(o.precision));
  mo.imgsz = o.imgsz_flag && o.imgsz_flag->count() ? o.imgsz : 0;
  Messages messages("track", o.verbosity);
  BuildProgress build(messages);
  mo.progress = build.hook();
  const auto t0 = std::chrono::steady_clock::now();
  Result<Model> loaded = Model::load(o.model, mo);
  build.finish();
  KILN_RETURN_IF_ERROR(loaded.status());
  Model model = std::move(loaded).value();
  const ModelInfo& info = model.info();
  report_load(info, o.model, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), messages);
  if (info.task != "detect" && info.task != "segment" && info.task != "pose")
    return error(StatusCode::kUnsupported, o.model, ": task '", info.task,
                 "' cannot be tracked (kiln track takes detect, segment and pose models)");
  if (!o.save_dir.empty()) {
    std::error_code ec;
    fs::create_directories(o.save_dir, ec);
    if (ec) return error(StatusCode::kIoError, o.save_dir, ": cannot create: ", ec.message());
  }

  kiln::PredictOptions po;
  po.conf = o.conf;
  po.iou = o.iou;
  po.classes = o.classes;
  // The output files are opened before any frame (a bad path fails first) and move into
  // place at the end; nothing is left of them on an error.
  KILN_ASSIGN_OR_RETURN(std::optional<AtomicFile> json_file, open_output_file(o.json_out));
  KILN_ASSIGN_OR_RETURN(std::optional<AtomicFile> mot_file, open_output_file(o.mot_out));
  auto new_sequence = [&](const std::string& name) {
    return Sequence::create(config, name, json_file.has_value(), mot_file.has_value());
  };
  auto write = [&](Sequence& seq, const std::vector<std::pair<std::string, std::string>>& events) -> Status {
    if (o.verbosity != Verbosity::kQuiet) seq.print_summary();
    if (json_file) KILN_RETURN_IF_ERROR(seq.write_json(*json_file, events));
    return mot_file ? seq.write_mot(*mot_file) : Status::Ok();
  };
  Status failed = Status::Ok();
  if (!sources.images.empty()) {
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<Sequence> seq, new_sequence(fs::path(o.source).filename().string()));
    KILN_RETURN_IF_ERROR(track_images(model, po, o, sources.images, *seq));
    KILN_RETURN_IF_ERROR(write(*seq, {}));
  }
  std::vector<std::unique_ptr<Sequence>> tracked;
  for (const video::VideoSource& v : sources.videos) {
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<Sequence> seq, new_sequence(v.name));
    tracked.push_back(std::move(seq));
  }
  std::vector<VideoOutcome> outcomes = run_videos(sources.videos.size(), sources.together, [&](size_t i) {
    Sequence& seq = *tracked[i];
    VideoJob job;
    job.source = sources.videos[i];
    job.live = o.live;
    job.index = i + 1;
    job.total = sources.videos.size();
    job.save_dir = o.save_dir;
    job.vid_stride = o.vid_stride;
    job.max_frames = o.max_frames;
    job.lines = o.verbosity == Verbosity::kQuiet ? nullptr : stdout;
    job.on_prediction = [&seq, &info](int64_t frame, const Image& image, const Frame*, Prediction& p) {
      return seq.apply(frame, image, p, info.names);
    };
    job.frame_json = FrameJson::kDrop;  // the sequence writes its own lines, with the track ids
    job.on_prediction_reads_image = config.gmc_method != track::GmcMethod::kNone;  // motion compensation reads the frame
    job.strict_gpu = o.strict_gpu;
    job.draw = [&seq, &info](Image& image, const Prediction& p) { seq.draw(image, p, info.names); };
    return predict_video(model, po, job, messages);
  });
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const VideoOutcome& outcome = outcomes[i];
    if (!outcome.status.ok()) {
      // The frames tracked before it are written with the others; the command fails at the end.
      if (failed.ok()) failed = outcome.status;
      if (o.verbosity != Verbosity::kQuiet && sources.videos.size() > 1)
        std::cerr << "kiln track: error: " << outcome.status.message() << " (frames before it kept)" << std::endl;
    }
    std::vector<std::pair<std::string, std::string>> events;
    if (!outcome.json.value("fallback", "").empty()) events.emplace_back("fallback", outcome.json["fallback"]);
    for (const nlohmann::json& what : outcome.json.value("reconnects", nlohmann::json::array()))
      events.emplace_back("reconnect", what.get<std::string>());
    KILN_RETURN_IF_ERROR(write(*tracked[i], events));
  }
  for (std::optional<AtomicFile>* file : {&json_file, &mot_file})
    if (*file) KILN_RETURN_IF_ERROR((*file)->commit());
  if (!o.save_dir.empty() && o.verbosity != Verbosity::kQuiet) std::printf("Results saved to %s\n", o.save_dir.c_str());
  return failed;
}

}  // namespace

Runner register_track(CLI::App& app) {
  auto o = std::make_shared<TrackOptions>();
  CLI::App* cmd = app.add_subcommand("track", "Track objects across video frames (ByteTrack, BoT-SORT)");
  cmd->add_option("--model", o->model, "detect, segment or pose model (ONNX export or .kiln engine)")->required();
  cmd->add_option("--source", o->source,
                  "video, directory of frames (tracked as one sequence), URL (rtsp://, http://, ...), camera (0, "
                  "/dev/video0) or a .streams / .txt list")
      ->required();
  cmd->add_option("--tracker", o->tracker, "bytetrack.yaml | botsort.yaml | an Ultralytics tracker YAML file")
      ->capture_default_str();
  cmd->add_option("--conf", o->conf, "detection confidence threshold")->capture_default_str();
  cmd->add_option("--iou", o->iou, "NMS IoU threshold")->capture_default_str();
  o->imgsz_flag = cmd->add_option("--imgsz", o->imgsz, "input size (default: the model's own)");
  cmd->add_option("--classes", o->classes, "track only these class ids (comma-separated)")->delimiter(',');
  cmd->add_option("--device", o->device, "cpu | cuda | cuda:N (default: cpu; a .kiln runs where it was built)");
  cmd->add_option("--precision", o->precision, "fp32 | fp16 | tf32 (fp16 and tf32 need a GPU)");
  cmd->add_flag("--strict-gpu", o->strict_gpu,
                "fail instead of falling back to the CPU: no usable GPU for the model, or a video NVDEC cannot decode");
  cmd->add_option("--save", o->save_dir, "write annotated videos (.mp4) and frames (.jpg) with ids and trails here");
  cmd->add_option("--json", o->json_out, "write one JSON line per frame (tracked objects with track_id)");
  cmd->add_option("--mot", o->mot_out, "write MOTChallenge rows: frame,id,left,top,width,height,conf,-1,-1,-1");
  cmd->add_option("--vid-stride", o->vid_stride, "track every N-th video frame")->capture_default_str();
  cmd->add_option("--max-frames", o->max_frames, "stop each video or stream after N tracked frames (0: all)")
      ->capture_default_str();
  add_live_flags(*cmd, o->live);
  add_verbosity_flags(*cmd, o->verbosity);
  return [o]() {
    Status st = track(*o);
    return st.ok() ? kExitOk : report_error("track", st);
  };
}

}  // namespace kiln::cli
