#include "track/tracker_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>

#include "track/gmc.h"

namespace kiln::track {

namespace {

namespace fs = std::filesystem;

const std::set<std::string> kBotSortKeys = {"gmc_method", "proximity_thresh", "appearance_thresh", "with_reid", "model"};

Result<GmcMethod> parse_gmc(const std::string& file, const std::string& value) {
  if (value == "none") return GmcMethod::kNone;
  if (value == "sparseOptFlow") return GmcMethod::kSparseOptFlow;
  if (value == "orb") return GmcMethod::kOrb;
  if (value == "sift") return GmcMethod::kSift;
  if (value == "ecc") return GmcMethod::kEcc;
  return error(StatusCode::kInvalidArgument, file, ": gmc_method must be none, sparseOptFlow, orb, sift or ecc, got '",
               value, "'");
}

// Reads one scalar key into `out`, naming the file and key when its value has the wrong type.
template <typename T>
Status read(const std::string& file, const std::string& key, const YAML::Node& node, T& out) {
  try {
    out = node.as<T>();
  } catch (const YAML::Exception&) {
    return error(StatusCode::kInvalidArgument, file, ": ", key, " has an invalid value '", node.Scalar(), "'");
  }
  return Status::Ok();
}

Status check_fraction(const std::string& file, const std::string& key, double value) {
  if (value < 0 || value > 1) return error(StatusCode::kInvalidArgument, file, ": ", key, " must be in [0, 1], got ", value);
  return Status::Ok();
}

// The settings, or the reason this kiln cannot track with them, naming the file.
Result<TrackerConfig> checked(const std::string& file, const TrackerConfig& c) {
  if (Status st = check_motion_compensation(c.gmc_method); !st.ok())
    return error(st.code(), file, ": ", st.message());
  return c;
}

Result<TrackerConfig> parse(const std::string& file, const YAML::Node& doc) {
  if (!doc.IsMap()) return error(StatusCode::kInvalidArgument, file, ": expected a mapping of tracker settings");
  const YAML::Node type_node = doc["tracker_type"];
  if (!type_node) return error(StatusCode::kInvalidArgument, file, ": no tracker_type (bytetrack or botsort)");
  std::string type;
  KILN_RETURN_IF_ERROR(read(file, "tracker_type", type_node, type));
  if (type != "bytetrack" && type != "botsort")
    return error(StatusCode::kInvalidArgument, file, ": tracker_type must be bytetrack or botsort, got '", type, "'");
  TrackerConfig c = type == "botsort" ? botsort_defaults() : bytetrack_defaults();
  for (const auto& entry : doc) {
    const std::string key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    if (c.type == TrackerType::kByteTrack && kBotSortKeys.count(key))
      return error(StatusCode::kInvalidArgument, file, ": ", key, " applies to tracker_type botsort only");
    if (key == "tracker_type") continue;
    if (key == "track_high_thresh") KILN_RETURN_IF_ERROR(read(file, key, value, c.track_high_thresh));
    else if (key == "track_low_thresh") KILN_RETURN_IF_ERROR(read(file, key, value, c.track_low_thresh));
    else if (key == "new_track_thresh") KILN_RETURN_IF_ERROR(read(file, key, value, c.new_track_thresh));
    else if (key == "track_buffer") KILN_RETURN_IF_ERROR(read(file, key, value, c.track_buffer));
    else if (key == "match_thresh") KILN_RETURN_IF_ERROR(read(file, key, value, c.match_thresh));
    else if (key == "fuse_score") KILN_RETURN_IF_ERROR(read(file, key, value, c.fuse_score));
    else if (key == "proximity_thresh") KILN_RETURN_IF_ERROR(read(file, key, value, c.proximity_thresh));
    else if (key == "appearance_thresh") KILN_RETURN_IF_ERROR(read(file, key, value, c.appearance_thresh));
    else if (key == "with_reid") KILN_RETURN_IF_ERROR(read(file, key, value, c.with_reid));
    else if (key == "model") KILN_RETURN_IF_ERROR(read(file, key, value, c.model));
    else if (key == "gmc_method") {
      std::string m;
      KILN_RETURN_IF_ERROR(read(file, key, value, m));
      KILN_ASSIGN_OR_RETURN(c.gmc_method, parse_gmc(file, m));
    } else {
      return error(StatusCode::kInvalidArgument, file, ": unknown tracker setting '", key, "'");
    }
  }
  for (const auto& [key, v] : {std::pair{"track_high_thresh", c.track_high_thresh}, {"track_low_thresh", c.track_low_thresh},
                               {"new_track_thresh", c.new_track_thresh}, {"match_thresh", c.match_thresh},
                               {"proximity_thresh", c.proximity_thresh}, {"appearance_thresh", c.appearance_thresh}})
    KILN_RETURN_IF_ERROR(check_fraction(file, key, v));
  if (c.track_buffer < 0)
    return error(StatusCode::kInvalidArgument, file, ": track_buffer must not be negative, got ", c.track_buffer);
  return checked(file, c);
}

}  // namespace

const char* gmc_method_name(GmcMethod method) {
  switch (method) {
    case GmcMethod::kSparseOptFlow: return "sparseOptFlow";
    case GmcMethod::kOrb: return "orb";
    case GmcMethod::kSift: return "sift";
    case GmcMethod::kEcc: return "ecc";
    case GmcMethod::kNone: break;
  }
  return "none";
}

TrackerConfig bytetrack_defaults() { return TrackerConfig{}; }

TrackerConfig botsort_defaults() {
  TrackerConfig c;
  c.type = TrackerType::kBotSort;
  c.gmc_method = GmcMethod::kSparseOptFlow;
  return c;
}

Result<TrackerConfig> load_tracker_config(const std::string& name_or_path) {
  std::error_code ec;
  if (!fs::exists(name_or_path, ec)) {
    if (name_or_path == "bytetrack.yaml") return bytetrack_defaults();
    if (name_or_path == "botsort.yaml") return checked(name_or_path, botsort_defaults());
    return error(StatusCode::kNotFound, name_or_path,
                 ": no such tracker file (built in: bytetrack.yaml, botsort.yaml)");
  }
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(name_or_path);
  } catch (const YAML::Exception& e) {
    return error(StatusCode::kCorrupt, name_or_path, ": not valid YAML (", e.msg, ")");
  }
  return parse(name_or_path, doc);
}

}  // namespace kiln::track
