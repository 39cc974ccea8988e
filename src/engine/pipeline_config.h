// The `pipelines:` section of kiln.yaml: each pipeline is a detector, an optional tracker
// and stages that run a second model on crops of chosen classes. Parsed and checked for
// everything the file alone can tell (keys, types, values, which keys a role takes); the
// pipeline runner (src/pipeline) checks what needs the models (a model's task against its
// stage's role, class names against the detector's) before any frame runs. Schema and
// examples: docs/CONFIG.md.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/options.h"
#include "kiln/status.h"

namespace YAML {
class Node;
}

namespace kiln::engine {

// What a stage's model does with each crop: keypoints (pose), a top-5 (classify), boxes
// (detect) or an appearance vector (embed, e.g. OSNet ReID).
enum class StageRole { kPose, kClassify, kDetect, kEmbed };

// "pose", "classify", "detect", "embed".
std::string_view to_string(StageRole role);
Result<StageRole> parse_stage_role(std::string_view text);

struct StageConfig {
  std::string name;                  // the key of its results in the output
  std::string model;                 // a name under `models:` or a path (relative to the yaml's folder)
  StageRole role = StageRole::kDetect;
  std::vector<std::string> classes;  // detector classes whose objects it runs on (names or ids); empty: all
  CropFit crop = CropFit::kLetterbox;  // embed: kResize unless set
  std::optional<int64_t> imgsz;      // the stage model's input size (pose, classify, detect)
  std::optional<float> conf;         // the stage model's confidence threshold (pose, detect)
  int every = 1;                     // embed: refresh each track's vector every N frames
  double padding = 0;                // grow the box by this fraction of its size on each side
};

struct PipelineConfig {
  std::string name;
  std::string detector;                // a name under `models:` or a path
  std::optional<std::string> tracker;  // bytetrack.yaml | botsort.yaml | a tracker YAML (path resolved)
  std::optional<float> conf;           // detector confidence; default 0.25, with a tracker 0.1
  double iou = 0.7;
  std::vector<std::string> classes;    // detector classes to keep (names or ids); empty: all
  std::vector<StageConfig> stages;     // in file order
};

// Reads `pipelines:` of `file` (its folder resolves relative paths); errors name the file
// and the key ("kiln.yaml: pipelines.traffic.stages[0].role: ...").
Result<std::vector<PipelineConfig>> parse_pipelines(const YAML::Node& node, const std::filesystem::path& file);

}  // namespace kiln::engine
