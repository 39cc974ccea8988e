#include "track/tracker.h"

#include <algorithm>
#include <optional>
#include <set>

#include "track/gmc.h"
#include "track/linear_assignment.h"
#include "track/track_costs.h"

namespace kiln::track {

namespace {

// Cost limits of the second association (low-score detections) and of the unconfirmed
// tracks, fixed in Ultralytics' BYTETracker.update.
constexpr double kSecondMatchThresh = 0.5;
constexpr double kUnconfirmedMatchThresh = 0.7;
// remove_duplicate_stracks: a tracked and a lost track overlapping this much are one object.
constexpr float kDuplicateIouDistance = 0.15f;
constexpr size_t kRemovedKept = 1000;

using TrackPtr = std::shared_ptr<Track>;

// joint_stracks: a, then the tracks of b whose id is not in a.
TrackList joint(const TrackList& a, const TrackList& b) {
  std::set<int> ids;
  TrackList out;
  for (const TrackPtr& t : a) ids.insert(t->id), out.push_back(t);
  for (const TrackPtr& t : b)
    if (ids.insert(t->id).second) out.push_back(t);
  return out;
}

// sub_stracks: the tracks of a whose id is not in b.
TrackList without(const TrackList& a, const TrackList& b) {
  std::set<int> ids;
  for (const TrackPtr& t : b) ids.insert(t->id);
  TrackList out;
  for (const TrackPtr& t : a)
    if (!ids.count(t->id)) out.push_back(t);
  return out;
}

std::vector<double> to_double(const CostMatrix& m) { return {m.values.begin(), m.values.end()}; }

}  // namespace

struct Tracker::State {
  TrackerConfig config;
  BoxState kind;
  KalmanFilter kalman;
  TrackList tracked, lost, removed;
  int frame_id = 0;
  int last_id = 0;
  std::optional<MotionCompensation> gmc;  // BoT-SORT with a gmc_method
  Status gmc_status;                      // why there is none where one is asked for

  explicit State(const TrackerConfig& c)
      : config(c),
        kind(c.type == TrackerType::kBotSort ? BoxState::kXywh : BoxState::kXyah),
        kalman(kind) {
    if (!bot_sort() || c.gmc_method == GmcMethod::kNone) return;
    Result<MotionCompensation> m = MotionCompensation::create(c.gmc_method);
    if (m.ok())
      gmc.emplace(std::move(m).value());
    else
      gmc_status = error(m.status().code(), "tracker: ", m.status().message());
  }

  bool bot_sort() const { return config.type == TrackerType::kBotSort; }
  bool reid() const { return bot_sort() && config.with_reid; }

  void activate(Track& t) {
    t.id = ++last_id;
    t.kalman = kalman.initiate(measurement(t.detection_tlwh, kind));
    t.has_state = true;
    t.tracklet_len = 0;
    t.status = TrackStatus::kTracked;
    if (frame_id == 1) t.confirmed = true;
    t.frame_id = frame_id;
    t.start_frame = frame_id;
  }

  void take_detection(Track& t, const Track& det) {
    t.score = det.score;
    t.class_id = det.class_id;
    t.detection_index = det.detection_index;
  }

  void re_activate(Track& t, const Track& det) {
    if (!det.curr_feat.empty()) update_features(t, det.curr_feat);
    kalman.update(t.kalman, measurement(det.detection_tlwh, kind));
    t.tracklet_len = 0;
    t.status = TrackStatus::kTracked;
    t.confirmed = true;
    t.frame_id = frame_id;
    take_detection(t, det);
  }

  void update(Track& t, const Track& det) {
    if (!det.curr_feat.empty()) update_features(t, det.curr_feat);
    t.frame_id = frame_id;
    ++t.tracklet_len;
    kalman.update(t.kalman, measurement(det.detection_tlwh, kind));
    t.status = TrackStatus::kTracked;
    t.confirmed = true;
    take_detection(t, det);
  }

  void multi_predict(const TrackList& tracks) {
    for (const TrackPtr& t : tracks) {
      if (t->status != TrackStatus::kTracked) {
        if (bot_sort()) t->kalman.mean[6] = 0;
        t->kalman.mean[7] = 0;
      }
      kalman.predict(t->kalman);
    }
  }

  // get_dists: IoU cost, fused with the scores; BoT-SORT with ReID takes the appearance
  // cost where it is lower, for pairs that overlap enough and look alike enough.
  std::vector<double> distances(const TrackList& tracks, const TrackList& dets) {
    CostMatrix iou = iou_distance(tracks, dets, kind);
    std::vector<char> far(iou.values.size());
    const float proximity = static_cast<float>(1 - config.proximity_thresh);
    for (size_t k = 0; k < far.size(); ++k) far[k] = iou.values[k] > proximity;
    if (config.fuse_score) fuse_score(iou, dets);
    std::vector<double> d = to_double(iou);
    if (reid() && !d.empty()) {
      std::vector<double> emb = embedding_distance(tracks, dets);
      for (size_t k = 0; k < d.size(); ++k) {
        double e = emb[k] / 2.0;
        if (e > 1 - config.appearance_thresh || far[k]) e = 1.0;
        d[k] = std::min(d[k], e);
      }
    }
    return d;
  }

  // Applies the matches of one association to the tracks.
  void apply(const Assignment& a, const TrackList& tracks, const TrackList& dets, TrackList& activated,
             TrackList& refound) {
    for (const auto& [it, id] : a.matches) {
      Track& t = *tracks[it];
      if (t.status == TrackStatus::kTracked) {
        update(t, *dets[id]);
        activated.push_back(tracks[it]);
      } else {
        re_activate(t, *dets[id]);
        refound.push_back(tracks[it]);
      }
    }
  }

  void remove_duplicates() {
    const CostMatrix d = iou_distance(tracked, lost, kind);
    std::set<int> dup_tracked, dup_lost;
    for (int p = 0; p < d.rows; ++p)
      for (int q = 0; q < d.cols; ++q) {
        if (!(d.at(p, q) < kDuplicateIouDistance)) continue;
        const int age_p = tracked[p]->frame_id - tracked[p]->start_frame;
        const int age_q = lost[q]->frame_id - lost[q]->start_frame;
        if (age_p > age_q)
          dup_lost.insert(q);
        else
          dup_tracked.insert(p);
      }
    TrackList keep_tracked, keep_lost;
    for (int p = 0; p < static_cast<int>(tracked.size()); ++p)
      if (!dup_tracked.count(p)) keep_tracked.push_back(tracked[p]);
    for (int q = 0; q < static_cast<int>(lost.size()); ++q)
      if (!dup_lost.count(q)) keep_lost.push_back(lost[q]);
    tracked = std::move(keep_tracked);
    lost = std::move(keep_lost);
  }

  TrackList detections(const std::vector<TrackDetection>& input, const std::vector<int>& indices) const {
    TrackList out;
    for (int i : indices) {
      const TrackDetection& d = input[i];
      const std::vector<float> none;
      out.push_back(std::make_shared<Track>(detection_track({d.box.x1, d.box.y1, d.box.x2, d.box.y2}, d.score,
                                                            d.class_id, i, reid() ? d.feature : none)));
    }
    return out;
  }

  // BOTSORT's GMC.apply on the frame with the high-score boxes, then STrack.multi_gmc.
  void compensate_motion(const ImageView& frame, const std::vector<TrackDetection>& input,
                         const std::vector<int>& high, const TrackList& pool, const TrackList& unconfirmed) {
    std::vector<Box> boxes;
    for (int i : high) boxes.push_back(input[i].box);
    const Warp warp = gmc->apply(frame, boxes);
    for (const TrackList* list : {&pool, &unconfirmed})
      for (const TrackPtr& t : *list) warp_state(t->kalman, warp);
  }

  std::vector<TrackedObject> step(const std::vector<TrackDetection>& input, const ImageView* frame);
};

std::vector<TrackedObject> Tracker::State::step(const std::vector<TrackDetection>& input, const ImageView* frame) {
  ++frame_id;
  TrackList activated, refound, lost_now, removed_now;

  // Scores compare as float32 against the thresholds, as NumPy compares a float32 array.
  const float high = static_cast<float>(config.track_high_thresh), low = static_cast<float>(config.track_low_thresh);
  std::vector<int> first_idx, second_idx;
  for (int i = 0; i < static_cast<int>(input.size()); ++i) {
    const float s = input[i].score;
    if (s >= high) first_idx.push_back(i);
    if (s > low && s < high) second_idx.push_back(i);
  }
  TrackList dets = detections(input, first_idx);
  TrackList unconfirmed, confirmed;
  for (const TrackPtr& t : tracked) (t->confirmed ? confirmed : unconfirmed).push_back(t);

  // First association: confirmed and lost tracks with the high-score detections.
  TrackList pool = joint(confirmed, lost);
  multi_predict(pool);
  if (gmc) compensate_motion(*frame, input, first_idx, pool, unconfirmed);
  const Assignment first = linear_assignment(distances(pool, dets), static_cast<int>(pool.size()),
                                             static_cast<int>(dets.size()), config.match_thresh);
  apply(first, pool, dets, activated, refound);

  // Second association: tracks still tracked but unmatched, with the low-score detections.
  TrackList dets_second = detections(input, second_idx);
  TrackList remaining;
  for (int i : first.unmatched_rows)
    if (pool[i]->status == TrackStatus::kTracked) remaining.push_back(pool[i]);
  CostMatrix iou = iou_distance(remaining, dets_second, kind);
  if (config.fuse_score) fuse_score(iou, dets_second);
  const Assignment second = linear_assignment(to_double(iou), iou.rows, iou.cols, kSecondMatchThresh);
  apply(second, remaining, dets_second, activated, refound);
  for (int i : second.unmatched_rows) {
    Track& t = *remaining[i];
    if (t.status != TrackStatus::kLost) {
      t.status = TrackStatus::kLost;
      lost_now.push_back(remaining[i]);
    }
  }

  // Unconfirmed tracks (one frame old) with the high-score detections left over.
  TrackList left;
  for (int j : first.unmatched_cols) left.push_back(dets[j]);
  const Assignment third = linear_assignment(distances(unconfirmed, left), static_cast<int>(unconfirmed.size()),
                                             static_cast<int>(left.size()), kUnconfirmedMatchThresh);
  for (const auto& [it, id] : third.matches) {
    update(*unconfirmed[it], *left[id]);
    activated.push_back(unconfirmed[it]);
  }
  for (int i : third.unmatched_rows) {
    unconfirmed[i]->status = TrackStatus::kRemoved;
    removed_now.push_back(unconfirmed[i]);
  }

  // New tracks from the detections nobody took. The score compares in float64 here (a
  // NumPy float32 scalar against a Python float).
  for (int j : third.unmatched_cols) {
    Track& t = *left[j];
    if (static_cast<double>(t.score) < config.new_track_thresh) continue;
    activate(t);
    activated.push_back(left[j]);
  }
  for (const TrackPtr& t : lost)
    if (frame_id - t->frame_id > config.track_buffer) {
      t->status = TrackStatus::kRemoved;
      removed_now.push_back(t);
    }

  // The list updates in Ultralytics' order (a track removed this frame leaves `lost` only
  // at the end of the next frame, as there).
  TrackList still;
  for (const TrackPtr& t : tracked)
    if (t->status == TrackStatus::kTracked) still.push_back(t);
  tracked = joint(joint(still, activated), refound);
  lost = without(lost, tracked);
  lost.insert(lost.end(), lost_now.begin(), lost_now.end());
  lost = without(lost, removed);
  remove_duplicates();
  removed.insert(removed.end(), removed_now.begin(), removed_now.end());
  if (removed.size() > kRemovedKept) removed.erase(removed.begin(), removed.end() - kRemovedKept);

  std::vector<TrackedObject> out;
  for (const TrackPtr& t : tracked) {
    if (!t->confirmed) continue;
    const std::array<double, 4> b = t->tlwh(kind);
    TrackedObject o;
    o.track_id = t->id;
    o.box = {static_cast<float>(b[0]), static_cast<float>(b[1]), static_cast<float>(b[0] + b[2]),
             static_cast<float>(b[1] + b[3])};
    o.score = t->score;
    o.class_id = t->class_id;
    o.detection_index = t->detection_index;
    out.push_back(o);
  }
  return out;
}

Tracker::Tracker(const TrackerConfig& config) : state_(std::make_unique<State>(config)) {}
Tracker::~Tracker() = default;
Tracker::Tracker(Tracker&&) noexcept = default;
Tracker& Tracker::operator=(Tracker&&) noexcept = default;

const TrackerConfig& Tracker::config() const { return state_->config; }

void Tracker::reset() { state_ = std::make_unique<State>(state_->config); }

Result<std::vector<TrackedObject>> Tracker::update(const std::vector<TrackDetection>& detections) {
  if (state_->gmc)
    return error(StatusCode::kInvalidArgument, "tracker: gmc_method ", gmc_method_name(state_->config.gmc_method),
                 " needs each frame's pixels (update with the frame)");
  return checked_step(detections, nullptr);
}

Result<std::vector<TrackedObject>> Tracker::update(const std::vector<TrackDetection>& detections, const ImageView& frame) {
  return checked_step(detections, &frame);
}

Result<std::vector<TrackedObject>> Tracker::checked_step(const std::vector<TrackDetection>& detections,
                                                         const ImageView* frame) {
  KILN_RETURN_IF_ERROR(state_->gmc_status);
  if (state_->reid()) {
    for (size_t i = 0; i < detections.size(); ++i) {
      const size_t n = detections[i].feature.size();
      if (n == 0) return error(StatusCode::kInvalidArgument, "tracker: with_reid needs a feature for every detection (detection ", i, " has none)");
      if (n != detections[0].feature.size())
        return error(StatusCode::kInvalidArgument, "tracker: detection ", i, " has a feature of length ", n, ", detection 0 of ",
                     detections[0].feature.size());
    }
  }
  return state_->step(detections, frame);
}

}  // namespace kiln::track
