// A pipeline of kiln.yaml (engine/pipeline_config.h) run over the frames of a sequence:
// the detector, then the tracker when one is configured, then each stage on crops of the
// objects of its classes, the results in frame pixels. Everything that can be wrong with
// the file or its models is found by load(), before any frame runs. A Pipeline holds the
// models; each sequence (a video, a stream, a folder of frames) gets a Sequence of its own
// (its tracker and embed caches), so several sequences can run side by side, each on its
// own thread, over one set of models.
//
//   auto config = kiln::engine::load_config("kiln.yaml");
//   auto pipe = kiln::pipeline::Pipeline::load(*config, "people", {});
//   kiln::pipeline::Sequence seq = pipe->start_sequence();
//   for (each frame, numbered from 1) { auto out = seq.process(frame, number); ... }
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/config.h"
#include "kiln/model.h"
#include "pipeline/pipeline_models.h"
#include "pipeline/stage.h"
#include "track/tracker.h"

namespace kiln::core {
class SideBySide;
}

namespace kiln::pipeline {

// One frame's result. `objects` holds the detector's objects as a Prediction (with a
// tracker: the tracked objects, their Kalman boxes, as `kiln track` reports them), so
// they draw and print as predictions do.
struct PipelineFrame {
  int64_t number = 0;
  Prediction objects;
  std::vector<int> track_ids;  // per box of `objects`; empty without a tracker
  // [stage][object]: unset where the stage does not apply (another class, an empty crop).
  std::vector<std::vector<std::optional<StageOutput>>> stage_outputs;
  double track_ms = 0;          // the tracker's time on this frame
  std::vector<double> stage_ms;  // per stage: crops, inference and mapping back
  double stages_ms = 0;  // every stage together: less than stage_ms's sum where they ran side by side
  std::vector<size_t> stage_crops;  // per stage: crops run (embed: cache misses)
};

class Sequence;

class Pipeline {
 public:
  // Loads the detector and stage models of pipeline `name` of `config` and checks each
  // against its role, every class list against the detector's classes and the tracker's
  // settings against the stages; errors name the yaml and the key.
  static Result<Pipeline> load(const engine::Config& config, const std::string& name, const PipelineOverrides& overrides);

  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;
  ~Pipeline();

  const engine::PipelineConfig& config() const;
  Model& detector();
  const Model& detector() const;
  const PredictOptions& detector_options() const;  // conf, iou and class ids of the pipeline
  const std::vector<Stage>& stages() const;
  bool tracks() const;
  // The sequences take host frames only (Sequence's device-frame calls refuse): the
  // tracker's motion compensation (BoT-SORT's gmc_method) reads host pixels, or a stage
  // model runs on the CPU.
  bool needs_host_frames() const;

  // A new sequence over this pipeline's models: a fresh tracker and empty embed caches.
  // It refers to the models, so the Pipeline must outlive it (moving the Pipeline is fine).
  Sequence start_sequence();

 private:
  friend class Sequence;
  struct State;
  explicit Pipeline(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// One sequence's run of a pipeline. Sequences of one Pipeline may be used on different
// threads at once (each model call borrows its own context); one Sequence is used by one
// thread at a time.
class Sequence {
 public:
  Sequence(Sequence&&) noexcept;
  Sequence& operator=(Sequence&&) noexcept;
  ~Sequence();

  // Frame `number` (1-based within the sequence) whose detector prediction is `detections`.
  Result<PipelineFrame> process_detections(const Image& frame, int64_t number, Prediction detections);
  // The detector first, then the above.
  Result<PipelineFrame> process(const Image& frame, int64_t number);
  // The same on a kiln::Frame (kiln/frame.h). A host frame is converted to BGR as
  // Model::predict converts it. A frame in device memory (e.g. NVDEC's NV12; models on its
  // GPU): the detector reads it as Model::predict does, the tracker gets the boxes, each
  // stage's crops are fitted on the device straight into its model's input; only results
  // come to the host. A device frame to a pipeline that needs_host_frames(): InvalidArgument.
  Result<PipelineFrame> process_detections(const Frame& frame, int64_t number, Prediction detections);
  Result<PipelineFrame> process(const Frame& frame, int64_t number);

 private:
  friend class Pipeline;
  explicit Sequence(Pipeline::State& state);

  // The frame as the stages and the tracker read it: host pixels or a device frame.
  struct FramePixels {
    const vision::Image* host = nullptr;
    const Frame* device = nullptr;
    ImageView view;  // host: the tracker's motion compensation reads it
  };
  Result<PipelineFrame> process_detections(const FramePixels& frame, int64_t number, Prediction detections);

  Pipeline::State* state_;
  std::optional<track::Tracker> tracker_;
  std::vector<EmbedCache> caches_;  // per stage
  std::unique_ptr<core::SideBySide> side_by_side_;  // the threads of the stages after the tracker
};

}  // namespace kiln::pipeline
