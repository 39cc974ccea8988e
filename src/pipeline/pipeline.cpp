#include "pipeline/pipeline.h"

#include <algorithm>
#include <chrono>

#include "core/side_by_side.h"

namespace kiln::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

vision::Image to_vision(const Image& image) {
  vision::Image v;
  v.width = image.width, v.height = image.height, v.pixels = image.pixels;
  return v;
}

Status config_error(const engine::Config& config, const std::string& key, const std::string& problem) {
  return error(StatusCode::kInvalidArgument, config.path.string(), ": ", key, ": ", problem);
}

}  // namespace

struct Pipeline::State {
  engine::PipelineConfig config;
  Model detector;
  PredictOptions detector_options;
  std::vector<Stage> stages;
  std::optional<track::TrackerConfig> tracker;  // each sequence gets a tracker of its own
  std::optional<size_t> reid_stage;  // the embed stage that feeds BoT-SORT's with_reid
  // The stages that run after the tracker (all but the reid_stage).
  std::vector<size_t> after_tracker;
  // Every stage model on a GPU: those stages run side by side, each on a thread and stream
  // of its own (a frame's pose and ReID overlap on the GPU). Not on the CPU, where each
  // model's kernels already take every core.
  bool stages_side_by_side = false;

  // Why the sequences need host frames ("" when device frames go through): BoT-SORT's
  // motion compensation estimates the camera's motion on host pixels, and a stage model
  // not on a GPU takes host crops.
  std::string host_frames_reason() const {
    if (tracker && tracker->gmc_method != track::GmcMethod::kNone)
      return std::string("the tracker's gmc_method ") + track::gmc_method_name(tracker->gmc_method) + " reads host pixels";
    for (const Stage& stage : stages)
      if (!stage.model().info().device.is_cuda())
        return "stage " + stage.config().name + " runs on " + stage.model().info().device.to_string();
    return "";
  }
};

Pipeline::Pipeline(std::unique_ptr<State> state) : state_(std::move(state)) {}
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;
Pipeline::~Pipeline() = default;

Result<Pipeline> Pipeline::load(const engine::Config& config, const std::string& name, const PipelineOverrides& overrides) {
  const engine::PipelineConfig* found = nullptr;
  std::string known;
  for (const engine::PipelineConfig& p : config.pipelines) {
    if (p.name == name) found = &p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  if (!found)
    return error(StatusCode::kNotFound, config.path.string(), ": no pipeline '", name, "' (it has: ",
                 known.empty() ? "none" : known, ")");
  const engine::PipelineConfig& pc = *found;
  const std::string where = "pipelines." + name;

  std::optional<track::TrackerConfig> tracker_config;
  if (pc.tracker) {
    Result<track::TrackerConfig> t = track::load_tracker_config(*pc.tracker);
    if (!t.ok()) return config_error(config, where + ".tracker", t.status().message());
    tracker_config = *t;
  }
  KILN_ASSIGN_OR_RETURN(Model detector, load_pipeline_model(config, pc.detector, where + ".detector", 0, overrides));
  KILN_RETURN_IF_ERROR(check_detector(config, where + ".detector", detector));
  const ModelInfo& dinfo = detector.info();
  auto state = std::make_unique<State>(State{pc, std::move(detector), {}, {}, {}, {}, {}, false});
  PredictOptions& po = state->detector_options;
  po.conf = pc.conf.value_or(pc.tracker ? 0.1f : 0.25f);  // `yolo track` predicts at 0.1 for ByteTrack's low-score pass
  po.iou = pc.iou;
  KILN_ASSIGN_OR_RETURN(po.classes, resolve_classes(config, where + ".classes", pc.classes, dinfo));

  for (size_t i = 0; i < pc.stages.size(); ++i) {
    const engine::StageConfig& sc = pc.stages[i];
    const std::string key = where + ".stages[" + std::to_string(i) + "]";
    KILN_ASSIGN_OR_RETURN(std::vector<int> ids, resolve_classes(config, key + ".classes", sc.classes, dinfo));
    for (int id : ids)
      if (!po.classes.empty() && std::find(po.classes.begin(), po.classes.end(), id) == po.classes.end())
        return config_error(config, key + ".classes",
                            "class '" + dinfo.names[id] + "' is not among the pipeline's classes (it would never run)");
    KILN_ASSIGN_OR_RETURN(Model model, load_pipeline_model(config, sc.model, key + ".model", sc.imgsz.value_or(0), overrides));
    KILN_RETURN_IF_ERROR(check_stage_model(config, key + ".model", sc.role, model));
    if (sc.role == engine::StageRole::kEmbed && !state->reid_stage && tracker_config && tracker_config->with_reid) {
      // BoT-SORT matches every detection on its vector, every frame.
      if (sc.every != 1)
        return config_error(config, key + ".every", "the tracker's with_reid needs every detection's vector each frame; set every: 1");
      if (!ids.empty() && (po.classes.empty() || !std::all_of(po.classes.begin(), po.classes.end(), [&](int c) {
            return std::find(ids.begin(), ids.end(), c) != ids.end();
          })))
        return config_error(config, key + ".classes", "the tracker's with_reid needs a vector for every class the pipeline keeps");
      state->reid_stage = i;
    }
    state->stages.emplace_back(sc, std::move(model), std::move(ids));
  }
  if (tracker_config && tracker_config->with_reid && !state->reid_stage)
    return config_error(config, where + ".tracker", "with_reid needs an embed stage (e.g. OSNet ReID) for the appearance vectors");
  state->tracker = tracker_config;
  for (size_t k = 0; k < state->stages.size(); ++k)
    if (state->reid_stage != k) state->after_tracker.push_back(k);
  state->stages_side_by_side = std::all_of(state->stages.begin(), state->stages.end(),
                                           [](const Stage& st) { return st.model().info().device.is_cuda(); });
  return Pipeline(std::move(state));
}

const engine::PipelineConfig& Pipeline::config() const { return state_->config; }
Model& Pipeline::detector() { return state_->detector; }
const Model& Pipeline::detector() const { return state_->detector; }
const PredictOptions& Pipeline::detector_options() const { return state_->detector_options; }
const std::vector<Stage>& Pipeline::stages() const { return state_->stages; }
bool Pipeline::tracks() const { return state_->tracker.has_value(); }
bool Pipeline::needs_host_frames() const { return !state_->host_frames_reason().empty(); }

Sequence Pipeline::start_sequence() { return Sequence(*state_); }

Sequence::Sequence(Pipeline::State& state) : state_(&state), caches_(state.stages.size()) {
  if (state.tracker) tracker_.emplace(*state.tracker);
  if (state.stages_side_by_side && state.after_tracker.size() > 1)
    side_by_side_ = std::make_unique<core::SideBySide>(state.after_tracker.size() - 1);
}

Sequence::Sequence(Sequence&&) noexcept = default;
Sequence& Sequence::operator=(Sequence&&) noexcept = default;
Sequence::~Sequence() = default;

Result<PipelineFrame> Sequence::process(const Image& frame, int64_t number) {
  KILN_ASSIGN_OR_RETURN(Prediction detections, state_->detector.predict(frame, state_->detector_options));
  return process_detections(frame, number, std::move(detections));
}

Result<PipelineFrame> Sequence::process_detections(const Image& frame, int64_t number, Prediction detections) {
  const vision::Image vframe = state_->stages.empty() ? vision::Image() : to_vision(frame);
  return process_detections(FramePixels{&vframe, nullptr, view_of(frame)}, number,
                            std::move(detections));
}

Result<PipelineFrame> Sequence::process(const Frame& frame, int64_t number) {
  KILN_ASSIGN_OR_RETURN(Prediction detections, state_->detector.predict(frame, state_->detector_options));
  return process_detections(frame, number, std::move(detections));
}

Result<PipelineFrame> Sequence::process_detections(const Frame& frame, int64_t number, Prediction detections) {
  if (frame.memory == FrameMemory::kHost) {
    KILN_ASSIGN_OR_RETURN(Image image, to_image(frame));
    return process_detections(image, number, std::move(detections));
  }
  if (const std::string why = state_->host_frames_reason(); !why.empty())
    return error(StatusCode::kInvalidArgument, "pipeline ", state_->config.name, ": ", why, "; give it host frames");
  return process_detections(FramePixels{nullptr, &frame, {}}, number, std::move(detections));
}

Result<PipelineFrame> Sequence::process_detections(const FramePixels& frame, int64_t number, Prediction detections) {
  Pipeline::State& s = *state_;
  PipelineFrame out;
  out.number = number;
  out.stage_outputs.resize(s.stages.size());
  out.stage_ms.assign(s.stages.size(), 0.0);
  out.stage_crops.assign(s.stages.size(), 0);
  auto run_stage = [&](size_t k, const std::vector<StageObject>& objects) -> Result<std::vector<std::optional<StageOutput>>> {
    const Clock::time_point t0 = Clock::now();
    Stage& stage = s.stages[k];
    KILN_ASSIGN_OR_RETURN(std::vector<std::optional<StageOutput>> results,
                          frame.device ? stage.run(*frame.device, objects, number, caches_[k])
                                       : stage.run(*frame.host, objects, number, caches_[k]));
    out.stage_ms[k] += ms_since(t0);
    for (const auto& r : results) out.stage_crops[k] += r && (r->embedded_at == number || r->embedding.empty());
    return results;
  };

  std::vector<std::optional<StageOutput>> reid;  // per detection, when with_reid
  if (tracker_) {
    if (s.reid_stage) {
      std::vector<StageObject> all;
      for (const Detection& d : detections.boxes) all.push_back({d.class_id, d.box, -1});
      const Clock::time_point t0 = Clock::now();
      KILN_ASSIGN_OR_RETURN(reid, run_stage(*s.reid_stage, all));
      out.stages_ms += ms_since(t0);
    }
    std::vector<track::TrackDetection> dets;
    for (size_t i = 0; i < detections.boxes.size(); ++i) {
      const Detection& d = detections.boxes[i];
      dets.push_back({d.box, d.confidence, d.class_id, reid.empty() || !reid[i] ? std::vector<float>() : reid[i]->embedding});
    }
    const Clock::time_point t0 = Clock::now();
    KILN_ASSIGN_OR_RETURN(std::vector<track::TrackedObject> tracks,
                          frame.device ? tracker_->update(dets) : tracker_->update(dets, frame.view));
    out.track_ms = ms_since(t0);
    Prediction& objects = out.objects;
    objects.input_width = detections.input_width, objects.input_height = detections.input_height;
    objects.speed = detections.speed;
    std::vector<std::optional<StageOutput>> tracked_reid;
    for (const track::TrackedObject& t : tracks) {
      const size_t d = static_cast<size_t>(t.detection_index);
      objects.boxes.push_back({t.class_id, t.score, t.box});
      if (d < detections.masks.size()) objects.masks.push_back(detections.masks[d]);
      if (d < detections.keypoints.size()) objects.keypoints.push_back(detections.keypoints[d]);
      out.track_ids.push_back(t.track_id);
      if (s.reid_stage) tracked_reid.push_back(reid.at(d));
    }
    if (s.reid_stage) out.stage_outputs[*s.reid_stage] = std::move(tracked_reid);
  } else {
    out.objects = std::move(detections);
  }

  std::vector<StageObject> objects;
  for (size_t i = 0; i < out.objects.boxes.size(); ++i) {
    const Detection& d = out.objects.boxes[i];
    objects.push_back({d.class_id, d.box, out.track_ids.empty() ? -1 : out.track_ids[i]});
  }
  const std::vector<size_t>& after_tracker = s.after_tracker;
  std::vector<Status> failed(after_tracker.size(), Status::Ok());
  auto run_after_tracker = [&](size_t i) {
    const size_t k = after_tracker[i];
    Result<std::vector<std::optional<StageOutput>>> results = run_stage(k, objects);
    if (results.ok()) out.stage_outputs[k] = std::move(results).value();
    else failed[i] = results.status();
  };
  const Clock::time_point t0 = Clock::now();
  if (side_by_side_) {
    side_by_side_->run(after_tracker.size(), run_after_tracker);
  } else {
    for (size_t i = 0; i < after_tracker.size(); ++i) run_after_tracker(i);
  }
  out.stages_ms += ms_since(t0);
  for (const Status& st : failed) KILN_RETURN_IF_ERROR(st);
  return out;
}

}  // namespace kiln::pipeline
