// Tracker settings with the meaning and defaults of Ultralytics' tracker YAML files
// (cfg/trackers/bytetrack.yaml and botsort.yaml of Ultralytics 8.4.50), loadable from such a
// file.
#pragma once

#include <string>

#include "kiln/status.h"

namespace kiln::track {

enum class TrackerType { kByteTrack, kBotSort };

// BoT-SORT's global motion compensation. kiln estimates no camera motion (Ultralytics'
// methods are OpenCV's optical flow, ORB, SIFT and ECC); a file naming one of them is
// accepted and tracks as `none` does (gmc_note() says so).
enum class GmcMethod { kNone, kSparseOptFlow, kOrb, kSift, kEcc };

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
// tracker_type. Unknown keys and values of the wrong type are errors naming the file.
Result<TrackerConfig> load_tracker_config(const std::string& name_or_path);

// Non-empty when the settings ask for something kiln does without (global motion
// compensation): one line to tell the user.
std::string gmc_note(const TrackerConfig& config);

}  // namespace kiln::track
