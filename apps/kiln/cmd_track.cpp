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
#include <nlohmann/json.hpp>

#include "api/prediction_json.h"
#include "cli_output.h"
#include "commands.h"
#include "core/file_util.h"
#include "kiln/annotate.h"
#include "kiln/image.h"
#include "kiln/model.h"
#include "model_args.h"
#include "option_flags.h"
#include "predict_format.h"
#include "predict_video.h"
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
// the trails, and the ids of every frame for the JSON lines and MOT rows.
class Sequence {
 public:
  Sequence(const track::TrackerConfig& config, std::string name) : tracker_(config), name_(std::move(name)) {}

  // Replaces the frame's detections by its tracked objects (their Kalman boxes, the score
  // and class of the matched detection, and its mask or keypoints); `image` is the frame
  // (BoT-SORT's motion compensation).
  Status apply(int64_t frame, const Image& image, Prediction& p) {
    std::vector<track::TrackDetection> dets;
    for (const Detection& d : p.boxes) dets.push_back({d.box, d.confidence, d.class_id, {}});
    const auto t0 = std::chrono::steady_clock::now();
    KILN_ASSIGN_OR_RETURN(std::vector<track::TrackedObject> tracks, tracker_.update(dets, view_of(image)));
    track_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    Prediction out;
    out.input_width = p.input_width, out.input_height = p.input_height, out.speed = p.speed;
    std::vector<int>& ids = ids_[frame];
    for (const track::TrackedObject& t : tracks) {
      out.boxes.push_back({t.class_id, t.score, t.box});
      if (static_cast<size_t>(t.detection_index) < p.masks.size()) out.masks.push_back(p.masks[t.detection_index]);
      if (static_cast<size_t>(t.detection_index) < p.keypoints.size())
        out.keypoints.push_back(p.keypoints[t.detection_index]);
      ids.push_back(t.track_id);
      std::deque<std::pair<float, float>>& trail = trails_[t.track_id];
      trail.emplace_back((t.box.x1 + t.box.x2) / 2, (t.box.y1 + t.box.y2) / 2);
      if (trail.size() > kTrailLength) trail.pop_front();
      mot_ += mot_row(frame, t.track_id, t.box, t.score);
    }
    p = std::move(out);
    last_frame_ = frame;
    return Status::Ok();
  }

  // Draws the frame last given to apply().
  void draw(Image& image, const Prediction& p, const std::vector<std::string>& names) const {
    std::vector<TrackMark> marks;
    for (int id : ids_.at(last_frame_)) {
      const auto& trail = trails_.at(id);
      marks.push_back({id, {trail.begin(), trail.end()}});
    }
    draw_tracked(image, p, marks, names);
  }

  // One JSON line per frame: {"source", "frame", "detections": [... with "track_id"]}.
  std::string json_line(int64_t frame, nlohmann::json entry) const {
    nlohmann::json line = {{"source", name_}, {"frame", frame}};
    nlohmann::json& dets = entry["detections"];
    const std::vector<int>& ids = ids_.at(frame);
    for (size_t k = 0; k < dets.size() && k < ids.size(); ++k) dets[k]["track_id"] = ids[k];
    line["detections"] = std::move(dets);
    return line.dump() + "\n";
  }

  const std::string& mot() const { return mot_; }

  // "Tracking: 0.05ms per frame, 12 tracks" after the sequence's own summary.
  void print_summary() const {
    const double frames = ids_.empty() ? 1.0 : static_cast<double>(ids_.size());
    std::printf("Tracking %s: %.3fms per frame, %zu tracks\n", name_.c_str(), track_ms_ / frames, trails_.size());
    std::fflush(stdout);
  }

 private:
  track::Tracker tracker_;
  std::string name_;
  std::map<int64_t, std::vector<int>> ids_;
  std::map<int, std::deque<std::pair<float, float>>> trails_;
  std::string mot_;
  int64_t last_frame_ = 0;
  double track_ms_ = 0;
};

// The images of the source, in order, as one sequence (Ultralytics' track with persist=True).
Status track_images(Model& model, const kiln::PredictOptions& po, const TrackOptions& o,
                    const std::vector<fs::path>& images, Sequence& seq, std::string& jsonl) {
  const ModelInfo& info = model.info();
  for (size_t i = 0; i < images.size(); ++i) {
    const int64_t frame = static_cast<int64_t>(i) + 1;
    KILN_ASSIGN_OR_RETURN(Image image, load_image(images[i]));
    KILN_ASSIGN_OR_RETURN(Prediction p, model.predict(image, po));
    KILN_RETURN_IF_ERROR(seq.apply(frame, image, p));
    if (o.verbosity != Verbosity::kQuiet) {
      std::printf("image %zu/%zu %s: %dx%d %s%.1fms\n", i + 1, images.size(), images[i].filename().string().c_str(),
                  p.input_height, p.input_width, summarize(p, info.names).c_str(), p.speed.inference_ms);
      std::fflush(stdout);
    }
    jsonl += seq.json_line(frame, api::prediction_json(p, info.names));
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
  std::string jsonl, mot;
  Status failed = Status::Ok();
  if (!sources.images.empty()) {
    Sequence seq(config, fs::path(o.source).filename().string());
    KILN_RETURN_IF_ERROR(track_images(model, po, o, sources.images, seq, jsonl));
    if (o.verbosity != Verbosity::kQuiet) seq.print_summary();
    mot += seq.mot();
  }
  std::vector<std::unique_ptr<Sequence>> tracked;
  for (const video::VideoSource& v : sources.videos) tracked.push_back(std::make_unique<Sequence>(config, v.name));
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
    job.on_prediction = [&seq](int64_t frame, const Image& image, const Frame*, Prediction& p) {
      return seq.apply(frame, image, p);
    };
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
    if (!outcome.json.contains("frames")) continue;
    const Sequence& seq = *tracked[i];
    for (const nlohmann::json& entry : outcome.json["frames"]) jsonl += seq.json_line(entry["frame"].get<int64_t>(), entry);
    if (!outcome.json.value("fallback", "").empty())
      jsonl += nlohmann::json{{"source", sources.videos[i].name}, {"event", "fallback"}, {"message", outcome.json["fallback"]}}
                   .dump() + "\n";
    for (const nlohmann::json& what : outcome.json["reconnects"])
      jsonl += nlohmann::json{{"source", sources.videos[i].name}, {"event", "reconnect"}, {"message", what}}.dump() + "\n";
    if (o.verbosity != Verbosity::kQuiet) seq.print_summary();
    mot += seq.mot();
  }
  if (!o.json_out.empty()) KILN_RETURN_IF_ERROR(write_file_atomic(o.json_out, jsonl.data(), jsonl.size()));
  if (!o.mot_out.empty()) KILN_RETURN_IF_ERROR(write_file_atomic(o.mot_out, mot.data(), mot.size()));
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
