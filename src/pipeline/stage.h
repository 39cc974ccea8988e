// One stage of a pipeline: its model run on crops of the frame's objects of its classes,
// all crops of a frame in one predict/run call (batched as the model's batch allows), the
// results mapped back to frame pixels. Embed stages L2-normalise each vector and keep it
// per track id in the caller's EmbedCache (one per sequence), refreshing it every `every`
// frames. A Stage holds no per-sequence state: sequences on several threads share it.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "engine/pipeline_config.h"
#include "kiln/model.h"
#include "vision/crop.h"

namespace kiln::pipeline {

// What a stage gives for one object: a Prediction in frame pixels (detect: boxes; pose:
// boxes and keypoints; classify: top5) or an embedding.
struct StageOutput {
  Prediction prediction;
  std::vector<float> embedding;  // embed: unit length
  int64_t embedded_at = 0;       // embed: the frame whose crop gave the vector
};

// An object the stages run on: its class, box and (with a tracker) track id.
struct StageObject {
  int class_id = 0;
  Box box;
  int track_id = -1;
};

// An embed stage's vectors by track id, for one sequence.
using EmbedCache = std::map<int, StageOutput>;

class Stage {
 public:
  Stage(engine::StageConfig config, Model model, std::vector<int> class_ids);

  const engine::StageConfig& config() const { return config_; }
  const Model& model() const { return model_; }
  bool applies_to(int class_id) const;

  // The stage's outputs for `objects` of `frame` (unset for objects of other classes or
  // whose crop is empty). Embed vectors of tracked objects are reused from `cache` until
  // `every` frames old, and stored there when computed. Safe from several threads, each
  // with its own cache (the model is shared).
  Result<std::vector<std::optional<StageOutput>>> run(const vision::Image& frame, const std::vector<StageObject>& objects,
                                                      int64_t frame_number, EmbedCache& cache);

  // The placement of `box` in this stage's input (its crop region grown by the padding).
  vision::CropPlacement placement(const vision::Image& frame, const Box& box) const;

 private:
  Result<std::vector<StageOutput>> predict(const vision::Image& frame, const std::vector<vision::CropPlacement>& crops);
  Result<std::vector<StageOutput>> embed(const vision::Image& frame, const std::vector<vision::CropPlacement>& crops,
                                         int64_t frame_number);

  engine::StageConfig config_;
  Model model_;
  std::vector<int> class_ids_;  // empty: every class
  int input_width_ = 0, input_height_ = 0;
};

// The embed input for crops already fitted to the model's size: RGB, x / 255, then
// ImageNet's mean and std (torchreid's and BoxMOT's OSNet preprocessing), NCHW.
void embed_input(const vision::Image& fitted, float* nchw);

// Scales `v` to unit L2 length (a zero vector stays zero).
void l2_normalize(std::vector<float>& v);

}  // namespace kiln::pipeline
