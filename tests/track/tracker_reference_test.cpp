// kiln's ByteTrack and BoT-SORT against Ultralytics 8.4.50's BYTETracker and BOTSORT fed the
// same detections (tests/data/track/*.json, made by tests/tools/make_track_reference.py from
// kiln predict's detections on the assets' videos and MOT17-mini): every frame's tracks in
// the same order with the same ids, classes and scores, boxes within 1e-4 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "track/tracker.h"

namespace kiln::track {
namespace {

namespace fs = std::filesystem;

fs::path data_dir() { return test::source_dir() / "tests" / "data" / "track"; }

std::vector<fs::path> reference_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(data_dir()))
    if (e.path().extension() == ".json" && e.path().filename() != "lapjv_cases.json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

nlohmann::json load(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::vector<TrackDetection> frame_detections(const nlohmann::json& ref, size_t frame, bool with_features) {
  std::vector<TrackDetection> dets;
  const nlohmann::json& rows = ref["detections"][frame];
  for (size_t i = 0; i < rows.size(); ++i) {
    const nlohmann::json& r = rows[i];
    TrackDetection d;
    d.box = {r[0].get<float>(), r[1].get<float>(), r[2].get<float>(), r[3].get<float>()};
    d.score = r[4].get<float>();
    d.class_id = r[5].get<int>();
    if (with_features) d.feature = ref["features"][frame][i].get<std::vector<float>>();
    dets.push_back(std::move(d));
  }
  return dets;
}

bool close(float got, float want) { return std::fabs(got - want) <= 1e-4f * std::max(std::fabs(want), 1.0f); }

// Runs one tracker over the file's frames; returns the number of tracks compared.
size_t check(const fs::path& file, const std::string& variant, const TrackerConfig& config) {
  const nlohmann::json ref = load(file);
  const nlohmann::json& want_frames = ref["tracks"][variant];
  Tracker tracker(config);
  size_t compared = 0;
  for (size_t f = 0; f < want_frames.size(); ++f) {
    Result<std::vector<TrackedObject>> got = tracker.update(frame_detections(ref, f, config.with_reid));
    EXPECT_TRUE(got.ok()) << got.status().message();
    if (!got.ok()) return compared;
    const nlohmann::json& want = want_frames[f];
    const std::string where = file.filename().string() + " " + variant + " frame " + std::to_string(f + 1);
    EXPECT_EQ(got->size(), want.size()) << where;
    if (got->size() != want.size()) return compared;
    for (size_t k = 0; k < want.size(); ++k) {
      const TrackedObject& o = (*got)[k];
      const nlohmann::json& w = want[k];
      EXPECT_EQ(o.track_id, w[0].get<int>()) << where << " track " << k;
      EXPECT_TRUE(close(o.box.x1, w[1]) && close(o.box.y1, w[2]) && close(o.box.x2, w[3]) && close(o.box.y2, w[4]))
          << where << " id " << o.track_id << ": box " << o.box.x1 << " " << o.box.y1 << " " << o.box.x2 << " "
          << o.box.y2 << ", Ultralytics " << w[1] << " " << w[2] << " " << w[3] << " " << w[4];
      EXPECT_EQ(o.score, w[5].get<float>()) << where << " id " << o.track_id;
      EXPECT_EQ(o.class_id, w[6].get<int>()) << where << " id " << o.track_id;
      ++compared;
    }
    if (::testing::Test::HasFailure()) return compared;
  }
  return compared;
}

TEST(TrackerReference, ByteTrackEqualsUltralytics) {
  size_t tracks = 0;
  for (const fs::path& file : reference_files()) tracks += check(file, "bytetrack", bytetrack_defaults());
  EXPECT_GT(tracks, 1000u);
}

TEST(TrackerReference, BotSortEqualsUltralytics) {
  size_t tracks = 0;
  for (const fs::path& file : reference_files()) tracks += check(file, "botsort", botsort_defaults());
  EXPECT_GT(tracks, 1000u);
}

TEST(TrackerReference, BotSortWithReidEqualsUltralytics) {
  TrackerConfig config = botsort_defaults();
  config.with_reid = true;
  size_t tracks = 0;
  for (const fs::path& file : reference_files()) tracks += check(file, "botsort_reid", config);
  EXPECT_GT(tracks, 1000u);
}

TEST(TrackerReference, ResetRestartsIds) {
  const fs::path file = data_dir() / "person_walking.json";
  const nlohmann::json ref = load(file);
  Tracker tracker(bytetrack_defaults());
  ASSERT_TRUE(tracker.update(frame_detections(ref, 0, false)).ok());
  tracker.reset();
  Result<std::vector<TrackedObject>> again = tracker.update(frame_detections(ref, 0, false));
  ASSERT_TRUE(again.ok());
  ASSERT_FALSE(again->empty());
  EXPECT_EQ((*again)[0].track_id, ref["tracks"]["bytetrack"][0][0][0].get<int>());
}

TEST(TrackerReference, ReidWithoutFeaturesIsAnError) {
  TrackerConfig config = botsort_defaults();
  config.with_reid = true;
  Tracker tracker(config);
  Result<std::vector<TrackedObject>> r = tracker.update({TrackDetection{{0, 0, 10, 10}, 0.9f, 0, {}}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("with_reid needs a feature"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace kiln::track
