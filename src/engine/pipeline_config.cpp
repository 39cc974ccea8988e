#include "engine/pipeline_config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <set>

#include "engine/config.h"

namespace kiln::engine {

namespace fs = std::filesystem;

namespace {

constexpr std::array<std::string_view, 4> kRoleNames = {"pose", "classify", "detect", "embed"};
constexpr const char* kPipelineKeys = "detector, tracker, conf, iou, classes, stages";
constexpr const char* kStageKeys = "name, model, role, classes, crop, imgsz, conf, every, padding";

class PipelineParser {
 public:
  explicit PipelineParser(fs::path file) : file_(std::move(file)) {}

  Status fail(const std::string& key, const std::string& problem) const {
    return error(StatusCode::kInvalidArgument, file_.string(), ": ", key, ": ", problem);
  }

  template <typename T> Result<T> get(const YAML::Node& node, const std::string& key) const {
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      return fail(key, "wrong type (line " + std::to_string(node.Mark().line + 1) + ")");
    }
  }

  // A class list: names or ids, as a YAML list or one scalar.
  Result<std::vector<std::string>> classes(const YAML::Node& node, const std::string& key) const {
    if (node.IsScalar()) return std::vector<std::string>{node.Scalar()};
    if (!node.IsSequence()) return fail(key, "expected a list of class names or ids");
    std::vector<std::string> out;
    for (const YAML::Node& c : node) {
      if (!c.IsScalar()) return fail(key, "expected a list of class names or ids");
      out.push_back(c.Scalar());
    }
    return out;
  }

  Result<StageConfig> stage(const YAML::Node& node, const std::string& where) const {
    if (!node.IsMap()) return fail(where, "a stage must be a mapping (" + std::string(kStageKeys) + ")");
    StageConfig s;
    std::set<std::string> given;
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>(), full = where + "." + key;
      given.insert(key);
      if (key == "name") { KILN_ASSIGN_OR_RETURN(s.name, get<std::string>(kv.second, full)); }
      else if (key == "model") { KILN_ASSIGN_OR_RETURN(s.model, get<std::string>(kv.second, full)); }
      else if (key == "role") {
        KILN_ASSIGN_OR_RETURN(std::string text, get<std::string>(kv.second, full));
        Result<StageRole> role = parse_stage_role(text);
        if (!role.ok()) return fail(full, role.status().message());
        s.role = *role;
      } else if (key == "classes") { KILN_ASSIGN_OR_RETURN(s.classes, classes(kv.second, full)); }
      else if (key == "crop") {
        KILN_ASSIGN_OR_RETURN(std::string text, get<std::string>(kv.second, full));
        Result<CropFit> fit = parse_crop_fit(text);
        if (!fit.ok()) return fail(full, fit.status().message());
        s.crop = *fit;
      } else if (key == "imgsz") { KILN_ASSIGN_OR_RETURN(s.imgsz, get<int64_t>(kv.second, full)); }
      else if (key == "conf") { KILN_ASSIGN_OR_RETURN(s.conf, get<float>(kv.second, full)); }
      else if (key == "every") { KILN_ASSIGN_OR_RETURN(s.every, get<int>(kv.second, full)); }
      else if (key == "padding") { KILN_ASSIGN_OR_RETURN(s.padding, get<double>(kv.second, full)); }
      else return fail(where, "unknown key '" + key + "' (valid: " + kStageKeys + "; see docs/CONFIG.md)");
    }
    for (const char* required : {"name", "model", "role"})
      if (!given.count(required)) return fail(where, std::string("no '") + required + "'");
    if (!given.count("crop") && s.role == StageRole::kEmbed) s.crop = CropFit::kResize;
    const std::string role(to_string(s.role));
    if (s.role == StageRole::kEmbed && given.count("imgsz"))
      return fail(where + ".imgsz", "an embed stage takes its model's own input size");
    if ((s.role == StageRole::kEmbed || s.role == StageRole::kClassify) && given.count("conf"))
      return fail(where + ".conf", "a " + role + " stage has no confidence threshold (pose and detect stages do)");
    if (s.role != StageRole::kEmbed && given.count("every"))
      return fail(where + ".every", "only embed stages are cached per track; a " + role + " stage runs every frame");
    if (s.imgsz && (*s.imgsz < 32 || *s.imgsz % 32 != 0)) return fail(where + ".imgsz", "expected a positive multiple of 32");
    if (s.conf && !(*s.conf >= 0 && *s.conf <= 1)) return fail(where + ".conf", "expected a value in [0, 1]");
    if (s.every < 1) return fail(where + ".every", "expected a whole number of frames >= 1");
    if (!(s.padding >= 0 && s.padding <= 1)) return fail(where + ".padding", "expected a fraction of the box in [0, 1]");
    return s;
  }

  Result<PipelineConfig> pipeline(const std::string& name, const YAML::Node& node) const {
    const std::string where = "pipelines." + name;
    if (!node.IsMap()) return fail(where, std::string("a pipeline must be a mapping (") + kPipelineKeys + ")");
    PipelineConfig p;
    p.name = name;
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>(), full = where + "." + key;
      if (key == "detector") { KILN_ASSIGN_OR_RETURN(p.detector, get<std::string>(kv.second, full)); }
      else if (key == "tracker") {
        KILN_ASSIGN_OR_RETURN(std::string text, get<std::string>(kv.second, full));
        // A file beside the yaml, else a built-in name (bytetrack.yaml, botsort.yaml).
        const fs::path beside = resolve_config_path(text, file_.parent_path());
        std::error_code ec;
        p.tracker = fs::is_regular_file(beside, ec) ? beside.string() : text;
      } else if (key == "conf") { KILN_ASSIGN_OR_RETURN(p.conf, get<float>(kv.second, full)); }
      else if (key == "iou") { KILN_ASSIGN_OR_RETURN(p.iou, get<double>(kv.second, full)); }
      else if (key == "classes") { KILN_ASSIGN_OR_RETURN(p.classes, classes(kv.second, full)); }
      else if (key == "stages") {
        if (!kv.second.IsSequence()) return fail(full, "expected a list of stages");
        for (size_t i = 0; i < kv.second.size(); ++i) {
          KILN_ASSIGN_OR_RETURN(StageConfig s, stage(kv.second[i], full + "[" + std::to_string(i) + "]"));
          for (const StageConfig& before : p.stages)
            if (before.name == s.name) return fail(full, "two stages named '" + s.name + "'");
          p.stages.push_back(std::move(s));
        }
      } else {
        return fail(where, "unknown key '" + key + "' (valid: " + kPipelineKeys + "; see docs/CONFIG.md)");
      }
    }
    if (p.detector.empty()) return fail(where, "no 'detector'");
    if (p.conf && !(*p.conf >= 0 && *p.conf <= 1)) return fail(where + ".conf", "expected a value in [0, 1]");
    if (!(p.iou >= 0 && p.iou <= 1)) return fail(where + ".iou", "expected a value in [0, 1]");
    for (size_t i = 0; i < p.stages.size(); ++i)
      if (p.stages[i].role == StageRole::kEmbed && p.stages[i].every > 1 && !p.tracker)
        return fail(where + ".stages[" + std::to_string(i) + "].every",
                    "vectors are cached per track id: add a tracker, or leave every at 1");
    return p;
  }

 private:
  fs::path file_;
};

}  // namespace

std::string_view to_string(StageRole role) { return kRoleNames[static_cast<size_t>(role)]; }

Result<StageRole> parse_stage_role(std::string_view text) {
  for (size_t i = 0; i < kRoleNames.size(); ++i)
    if (text == kRoleNames[i]) return static_cast<StageRole>(i);
  return error(StatusCode::kInvalidArgument, "role '", text, "': expected pose, classify, detect or embed");
}

Result<std::vector<PipelineConfig>> parse_pipelines(const YAML::Node& node, const fs::path& file) {
  PipelineParser parser(file);
  if (!node.IsMap()) return parser.fail("pipelines", "expected a mapping of name -> pipeline");
  std::vector<PipelineConfig> out;
  for (const auto& kv : node) {
    KILN_ASSIGN_OR_RETURN(PipelineConfig p, parser.pipeline(kv.first.as<std::string>(), kv.second));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace kiln::engine
