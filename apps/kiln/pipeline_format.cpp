#include "pipeline_format.h"

#include <cstdio>

#include "api/prediction_json.h"
#include "kiln/annotate.h"

namespace kiln::cli {

namespace {

double detect_ms(const Prediction& p) { return p.speed.preprocess_ms + p.speed.inference_ms + p.speed.postprocess_ms; }

nlohmann::json stage_json(const pipeline::Stage& stage, const pipeline::StageOutput& out) {
  if (stage.config().role == engine::StageRole::kEmbed)
    return {{"embedding", out.embedding}, {"embedded_at", out.embedded_at}};
  nlohmann::json j = api::prediction_json(out.prediction, stage.model().info().names);
  if (stage.config().role == engine::StageRole::kClassify) j.erase("detections");
  return j;
}

}  // namespace

nlohmann::json frame_json(const std::string& source, const pipeline::Pipeline& pipe, const pipeline::PipelineFrame& f) {
  nlohmann::json objects = api::prediction_json(f.objects, pipe.detector().info().names)["detections"];
  nlohmann::json stages_speed = nlohmann::json::object();
  for (size_t k = 0; k < pipe.stages().size(); ++k) {
    const pipeline::Stage& stage = pipe.stages()[k];
    stages_speed[stage.config().name] = {{"ms", f.stage_ms[k]}, {"crops", f.stage_crops[k]}};
    for (size_t i = 0; i < objects.size(); ++i)
      if (const auto& out = f.stage_outputs[k].at(i)) objects[i]["stages"][stage.config().name] = stage_json(stage, *out);
  }
  for (size_t i = 0; i < objects.size(); ++i) {
    if (!f.track_ids.empty()) objects[i]["track_id"] = f.track_ids[i];
    if (!objects[i].contains("stages")) objects[i]["stages"] = nlohmann::json::object();
  }
  return {{"source", source},
          {"frame", f.number},
          {"objects", std::move(objects)},
          {"speed", {{"detect_ms", detect_ms(f.objects)}, {"track_ms", f.track_ms}, {"stages_ms", f.stages_ms},
                     {"stages", std::move(stages_speed)}}}};
}

void StageTimes::add(const pipeline::PipelineFrame& f) {
  ++frames_;
  detect_ms_ += detect_ms(f.objects);
  track_ms_ += f.track_ms;
  stages_ms_ += f.stages_ms;
  stage_ms_.resize(f.stage_ms.size(), 0.0);
  stage_crops_.resize(f.stage_crops.size(), 0);
  for (size_t k = 0; k < f.stage_ms.size(); ++k) stage_ms_[k] += f.stage_ms[k], stage_crops_[k] += f.stage_crops[k];
}

nlohmann::json StageTimes::summary(const std::string& source, const pipeline::Pipeline& pipe, double wall_s,
                                   const nlohmann::json& extra) const {
  const double n = frames_ > 0 ? static_cast<double>(frames_) : 1.0;
  nlohmann::json stages = nlohmann::json::object();
  for (size_t k = 0; k < stage_ms_.size(); ++k)
    stages[pipe.stages()[k].config().name] = {{"ms", stage_ms_[k] / n}, {"crops", static_cast<double>(stage_crops_[k]) / n}};
  nlohmann::json s = {{"frames", frames_},
                      {"wall_s", wall_s},
                      {"end_to_end_fps", wall_s > 0 ? frames_ / wall_s : 0.0},
                      {"detect_ms", detect_ms_ / n},
                      {"track_ms", track_ms_ / n},
                      {"stages_ms", stages_ms_ / n},
                      {"stages", std::move(stages)}};
  if (extra.is_object()) s.update(extra);
  return {{"source", source}, {"summary", std::move(s)}};
}

std::string StageTimes::line(const std::string& source, const pipeline::Pipeline& pipe, double wall_s) const {
  const double n = frames_ > 0 ? static_cast<double>(frames_) : 1.0;
  char buf[256];
  std::snprintf(buf, sizeof buf, "Pipeline %s on %s: %lld frames, %.1f FPS end to end; per frame %.1fms detect",
                pipe.config().name.c_str(), source.c_str(), static_cast<long long>(frames_), wall_s > 0 ? frames_ / wall_s : 0.0,
                detect_ms_ / n);
  std::string text = buf;
  if (pipe.tracks()) {
    std::snprintf(buf, sizeof buf, ", %.2fms track", track_ms_ / n);
    text += buf;
  }
  for (size_t k = 0; k < stage_ms_.size(); ++k) {
    std::snprintf(buf, sizeof buf, ", %.1fms %s (%.1f crops)", stage_ms_[k] / n, pipe.stages()[k].config().name.c_str(),
                  static_cast<double>(stage_crops_[k]) / n);
    text += buf;
  }
  if (stage_ms_.size() > 1) {
    std::snprintf(buf, sizeof buf, "; stages together %.1fms", stages_ms_ / n);
    text += buf;
  }
  return text;
}

void draw_pipeline_frame(Image& image, const pipeline::Pipeline& pipe, const pipeline::PipelineFrame& f) {
  const std::vector<std::string>& names = pipe.detector().info().names;
  if (f.track_ids.empty()) {
    draw_prediction(image, f.objects, names);
  } else {
    std::vector<TrackMark> marks;
    for (int id : f.track_ids) marks.push_back({id, {}});
    draw_tracked(image, f.objects, marks, names);
  }
  for (size_t k = 0; k < pipe.stages().size(); ++k) {
    const pipeline::Stage& stage = pipe.stages()[k];
    const engine::StageRole role = stage.config().role;
    if (role != engine::StageRole::kDetect && role != engine::StageRole::kPose) continue;
    for (const auto& out : f.stage_outputs[k])
      if (out) draw_prediction(image, out->prediction, stage.model().info().names);
  }
}

}  // namespace kiln::cli
