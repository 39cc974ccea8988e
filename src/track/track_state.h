// One track (or one frame's detection before it becomes a track), as Ultralytics' STrack /
// BOTrack: the detection's box in float32 as they keep it, the Kalman state, the appearance
// features, and the bookkeeping of the association steps.
#pragma once

#include <array>
#include <vector>

#include "track/kalman_filter.h"

namespace kiln::track {

enum class TrackStatus { kNew, kTracked, kLost, kRemoved };

struct Track {
  int id = 0;  // 0 until activated
  TrackStatus status = TrackStatus::kNew;
  bool confirmed = false;  // Ultralytics' is_activated: reported from its second frame on
  std::array<float, 4> detection_tlwh{};  // left, top, width, height of the latest detection
  bool has_state = false;
  KalmanState kalman;
  float score = 0;
  int class_id = 0;
  int detection_index = 0;
  int frame_id = 0, start_frame = 0, tracklet_len = 0;
  std::vector<float> curr_feat, smooth_feat;

  // The box: from the Kalman state when there is one, else the detection's.
  std::array<double, 4> tlwh(BoxState kind) const;
  // x1, y1, x2, y2 as float32, the form the IoU costs see.
  std::array<float, 4> xyxy(BoxState kind) const;
};

// A detection as a track: xyxy -> center/size -> top-left/size in float32, as Ultralytics
// derives it; the feature (if any) normalized as BOTrack does on construction.
Track detection_track(const std::array<float, 4>& xyxy, float score, int class_id, int index,
                      const std::vector<float>& feature);

// The Kalman measurement of a detection box (convert_coords): (cx, cy, w/h, h) or (cx, cy, w, h).
Vec4 measurement(const std::array<float, 4>& tlwh, BoxState kind);

// BOTrack.update_features: normalizes `feat`, keeps it as the current feature and folds it
// into the exponential moving average.
void update_features(Track& t, std::vector<float> feat);

}  // namespace kiln::track
