// Association costs between tracks and detections, in the precision Ultralytics computes
// them (IoU in float32, appearance in float64): 1 - IoU, the score-fused IoU cost, and the
// cosine distance of appearance features.
#pragma once

#include <memory>
#include <vector>

#include "track/track_state.h"

namespace kiln::track {

using TrackList = std::vector<std::shared_ptr<Track>>;

// rows x cols, row-major.
struct CostMatrix {
  int rows = 0, cols = 0;
  std::vector<float> values;
  float at(int r, int c) const { return values[static_cast<size_t>(r) * cols + c]; }
};

CostMatrix iou_distance(const TrackList& a, const TrackList& b, BoxState kind);

// 1 - (1 - cost) * detection score.
void fuse_score(CostMatrix& cost, const TrackList& detections);

// Cosine distance of each track's smoothed feature to each detection's feature, >= 0.
std::vector<double> embedding_distance(const TrackList& tracks, const TrackList& detections);

}  // namespace kiln::track
