// ByteTrack and BoT-SORT, step for step as Ultralytics 8.4.50's BYTETracker and BOTSORT
// (ultralytics/trackers): given the same detections they give the same track ids and boxes.
// Detections come as axis-aligned boxes (oriented boxes are not tracked). BoT-SORT with
// with_reid matches on each detection's appearance feature too; its global motion
// compensation is not done here (TrackerConfig::gmc_method).
#pragma once

#include <memory>
#include <vector>

#include "kiln/prediction.h"
#include "kiln/status.h"
#include "track/tracker_config.h"

namespace kiln::track {

struct TrackDetection {
  Box box;  // x1, y1, x2, y2 in pixels
  float score = 0;
  int class_id = 0;
  std::vector<float> feature;  // appearance embedding; needed when with_reid, else ignored
};

struct TrackedObject {
  int track_id = 0;
  Box box;  // the track's Kalman state (not the detection's box), as Ultralytics reports it
  float score = 0;
  int class_id = 0;
  int detection_index = 0;  // index of the matched detection in this frame's input
};

class Tracker {
 public:
  explicit Tracker(const TrackerConfig& config);
  ~Tracker();
  Tracker(Tracker&&) noexcept;
  Tracker& operator=(Tracker&&) noexcept;

  // One frame: returns the confirmed tracks that are tracked in this frame, in Ultralytics'
  // order. Fails (and changes nothing) when with_reid is set and a detection's feature is
  // missing or of another length than the others'.
  Result<std::vector<TrackedObject>> update(const std::vector<TrackDetection>& detections);

  // Forgets every track and restarts ids at 1 (a new video).
  void reset();

  const TrackerConfig& config() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kiln::track
