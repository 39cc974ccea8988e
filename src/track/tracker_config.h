// Tracker settings with the meaning and defaults of Ultralytics' tracker YAML files
// (cfg/trackers/bytetrack.yaml and botsort.yaml of Ultralytics 8.4.50), loadable from such a
// file.
#pragma once

#include <string>

#include "kiln/status.h"

namespace kiln::track {

enum class TrackerType { kByteTrack, kBotSort };

// BoT-SORT's global motion compensation (track/gmc.h): Ultralytics' methods, each through
// OpenCV as there; a kiln built without OpenCV takes none only.
enum class GmcMethod { kNone, kSparseOptFlow, kOrb, kSift, kEcc };

// The YAML spelling: none, sparseOptFlow, orb, sift, ecc.
const char* gmc_method_name(GmcMethod method);

struct TrackerConfig {
  TrackerType type = TrackerType::kByteTrack;
  double track_high_thresh = 0.25;  // first association: detections scoring at least this
  double track_low_thresh = 0.1;    // second association: scores above this and below high
  double new_track_thresh = 0.25;   // an unmatched detection starts a track from this score
  int track_buffer = 30;            // frames a lost track is kept
  double match_thresh = 0.8;        // cost limit of the first association
  bool fuse_score = true;           // IoU similarity multiplied by the detection score
  // BoT-SORT only
  GmcMethod gmc_method = GmcMethod::kNone;
  double proximity_thresh = 0.5;    // appearance is used only for pairs with IoU above this
  double appearance_thresh = 0.8;   // cosine similarity needed for an appearance match
  bool with_reid = false;           // detections carry appearance features
  std::string model = "auto";       // ReID model: "auto" (the detector's features) or a file
};

TrackerConfig bytetrack_defaults();
TrackerConfig botsort_defaults();

// "bytetrack.yaml" / "botsort.yaml" when no such file exists: the built-in defaults, as
// Ultralytics resolves them; otherwise the YAML file, its keys over the defaults of its
// tracker_type. Unknown keys and values of the wrong type are errors naming the file, and
// so is a gmc_method this kiln cannot do (built without OpenCV).
Result<TrackerConfig> load_tracker_config(const std::string& name_or_path);

}  // namespace kiln::track
