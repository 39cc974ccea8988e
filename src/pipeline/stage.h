// One stage of a pipeline: its model run on crops of the frame's objects of its classes,
// all crops of a frame in one predict/run call (batched as the model's batch allows), the
// results mapped back to frame pixels. A frame in host memory is cropped and fitted on the
// CPU (vision::fit_crop); a frame in device memory by one kernel per inference that fits
// every crop straight into the model's device input (device_crops.h), with the same
// values. Embed stages L2-normalise each vector and keep it
// per track id in the caller's EmbedCache (one per sequence), refreshing it every `every`
// frames. A Stage holds no per-sequence state: sequences on several threads share it.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
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
  // The same on a frame in device memory (kiln::Frame, memory kDevice, its pixels ready on
  // its stream) for a model on that GPU: only the results come to the host. A host frame
  // or a null plane: InvalidArgument; a model not on a GPU: InvalidArgument from the API.
  Result<std::vector<std::optional<StageOutput>>> run(const Frame& frame, const std::vector<StageObject>& objects,
                                                      int64_t frame_number, EmbedCache& cache);

  // The placement of `box` in this stage's input (its crop region of a frame_width x
  // frame_height frame grown by the padding).
  vision::CropPlacement placement(int frame_width, int frame_height, const Box& box) const;

 private:
  // The model's outputs for crops of one frame, host or device.
  using PredictCrops = std::function<Result<std::vector<Prediction>>(const std::vector<vision::CropPlacement>& crops)>;
  using RunCrops = std::function<Result<std::vector<Tensor>>(std::span<const vision::CropPlacement> crops)>;

  Result<std::vector<std::optional<StageOutput>>> run(int frame_width, int frame_height,
                                                      const std::vector<StageObject>& objects, int64_t frame_number,
                                                      EmbedCache& cache, const PredictCrops& predict_crops,
                                                      const RunCrops& run_crops);
  Result<std::vector<StageOutput>> predict(const std::vector<vision::CropPlacement>& crops,
                                           const PredictCrops& predict_crops);
  Result<std::vector<StageOutput>> embed(const std::vector<vision::CropPlacement>& crops, int64_t frame_number,
                                         const RunCrops& run_crops);

  engine::StageConfig config_;
  Model model_;
  std::vector<int> class_ids_;  // empty: every class
  int input_width_ = 0, input_height_ = 0;
};

// ImageNet's mean and std per RGB channel: torchreid's and BoxMOT's OSNet preprocessing.
inline constexpr float kEmbedMean[3] = {0.485f, 0.456f, 0.406f}, kEmbedStd[3] = {0.229f, 0.224f, 0.225f};

// The embed input for crops already fitted to the model's size: RGB, x / 255, then
// (x - kEmbedMean) / kEmbedStd, NCHW.
void embed_input(const vision::Image& fitted, float* nchw);

// Scales `v` to unit L2 length (a zero vector stays zero).
void l2_normalize(std::vector<float>& v);

}  // namespace kiln::pipeline
