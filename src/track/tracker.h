// ByteTrack and BoT-SORT, step for step as Ultralytics 8.4.50's BYTETracker and BOTSORT
// (ultralytics/trackers): given the same detections they give the same track ids and boxes.
// Detections come as axis-aligned boxes (oriented boxes are not tracked). BoT-SORT with
// with_reid matches on each detection's appearance feature too, and with a gmc_method moves
// its predicted tracks by the camera's motion, estimated on the frame (track/gmc.h, a CPU
// step on host pixels, as in Ultralytics).
#pragma once

#include <memory>
#include <vector>

#include "kiln/image.h"
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
  // missing or of another length than the others', when BoT-SORT's gmc_method needs the
  // frame and none is given, or when this kiln cannot do that gmc_method (no OpenCV).
  Result<std::vector<TrackedObject>> update(const std::vector<TrackDetection>& detections);
  // The same with the frame (BGR or RGB host pixels) the detections come from, which
  // BoT-SORT's motion compensation estimates the camera's motion on (others ignore it).
  Result<std::vector<TrackedObject>> update(const std::vector<TrackDetection>& detections, const ImageView& frame);

  // Forgets every track and restarts ids at 1 (a new video).
  void reset();

  const TrackerConfig& config() const;

 private:
  Result<std::vector<TrackedObject>> checked_step(const std::vector<TrackDetection>& detections, const ImageView* frame);

  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kiln::track
