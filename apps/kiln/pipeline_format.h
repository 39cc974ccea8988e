// How kiln pipeline writes a frame: its JSON line (the objects with their track ids and
// each stage's result in frame pixels, the frame's per-stage times), the sequence's
// summary line, and the annotated frame.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "kiln/image.h"
#include "pipeline/pipeline.h"

namespace kiln::cli {

// {"source", "frame", "objects": [{"track_id" (with a tracker), "class_id", "class_name",
// "confidence", "box_xyxy", ..., "stages": {"<name>": {"detections": [...]} | {"top5":
// [...]} | {"embedding": [...], "embedded_at": frame}}}], "speed": {"detect_ms",
// "track_ms", "stages": {"<name>": {"ms", "crops"}}}}.
nlohmann::json frame_json(const std::string& source, const pipeline::Pipeline& pipe, const pipeline::PipelineFrame& f);

// Per-stage totals over a sequence, for the summary line and the printed summary.
class StageTimes {
 public:
  void add(const pipeline::PipelineFrame& f);
  // {"source", "summary": {"frames", "wall_s", "end_to_end_fps", "detect_ms", "track_ms",
  // "stages_ms", "stages": {"<name>": {"ms", "crops"}}}} (per frame), plus `extra` (a
  // video's decode and encode times).
  nlohmann::json summary(const std::string& source, const pipeline::Pipeline& pipe, double wall_s,
                         const nlohmann::json& extra) const;
  // "Pipeline people on clip.mp4: 12 frames, 8.1 FPS end to end; per frame 20.1ms detect, ..."
  std::string line(const std::string& source, const pipeline::Pipeline& pipe, double wall_s) const;

 private:
  int64_t frames_ = 0;
  double detect_ms_ = 0, track_ms_ = 0;
  double stages_ms_ = 0;
  std::vector<double> stage_ms_;
  std::vector<size_t> stage_crops_;
};

// The objects (with their ids when tracked), then each detect and pose stage's boxes and
// keypoints.
void draw_pipeline_frame(Image& image, const pipeline::Pipeline& pipe, const pipeline::PipelineFrame& f);

}  // namespace kiln::cli
