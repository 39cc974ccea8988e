// kiln's ByteTrack and BoT-SORT against Ultralytics 8.4.50's BYTETracker and BOTSORT fed the
// same detections (tests/data/track/*.json, made by tests/tools/make_track_reference.py from
// kiln predict's detections on the assets' videos and MOT17-mini): every frame's tracks in
// the same order with the same ids, classes and scores, boxes within 1e-4 relative. BoT-SORT
// with sparseOptFlow motion compensation also gets the frames (MOT17-mini from the assets).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "track/gmc.h"
#include "track/tracker.h"
#include "vision/image_io.h"

namespace kiln::track {
namespace {

namespace fs = std::filesystem;

fs::path data_dir() { return test::source_dir() / "tests" / "data" / "track"; }

std::vector<fs::path> reference_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(data_dir()))
    if (e.path().extension() == ".json" && e.path().filename() != "lapjv_cases.json" &&
        e.path().filename() != "gmc_warps.json")
      files.push_back(e.path());
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

// BoT-SORT as Ultralytics runs it without the image: no motion compensation.
TrackerConfig botsort_without_frames() {
  TrackerConfig c = botsort_defaults();
  c.gmc_method = GmcMethod::kNone;
  return c;
}

// Runs one tracker over the file's frames (with each frame's pixels when `with_frames`);
// returns the number of tracks compared.
size_t check(const fs::path& file, const std::string& variant, const TrackerConfig& config, bool with_frames = false) {
  const nlohmann::json ref = load(file);
  if (!ref["tracks"].contains(variant)) return 0;
  const nlohmann::json& want_frames = ref["tracks"][variant];
  Tracker tracker(config);
  size_t compared = 0;
  for (size_t f = 0; f < want_frames.size(); ++f) {
    vision::Image image;
    if (with_frames) {
      const fs::path path = test::asset(ref["frames_dir"].get<std::string>()) / ref["frames"][f].get<std::string>();
      Result<vision::Image> decoded = vision::decode_image(path);
      EXPECT_TRUE(decoded.ok()) << decoded.status().message();
      if (!decoded.ok()) return compared;
      image = std::move(decoded).value();
    }
    const std::vector<TrackDetection> dets = frame_detections(ref, f, config.with_reid);
    Result<std::vector<TrackedObject>> got =
        with_frames ? tracker.update(dets, ImageView{image.width, image.height, image.pixels.data(), false})
                    : tracker.update(dets);
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
  for (const fs::path& file : reference_files()) tracks += check(file, "botsort", botsort_without_frames());
  EXPECT_GT(tracks, 1000u);
}

TEST(TrackerReference, BotSortWithMotionCompensationEqualsUltralytics) {
  if (!motion_compensation_available()) GTEST_SKIP() << "kiln built without OpenCV: no motion compensation to compare";
  KILN_REQUIRE_ASSETS();
  size_t tracks = 0, files = 0;
  for (const fs::path& file : reference_files()) {
    const size_t n = check(file, "botsort_gmc", botsort_defaults(), true);
    tracks += n, files += n > 0;
  }
  EXPECT_EQ(files, 8u);  // MOT17-mini's 7 sequences, and kiln's detections on MOT17-05
  EXPECT_GT(tracks, 500u);
}

TEST(TrackerReference, MotionCompensationNeedsTheFrame) {
  if (!motion_compensation_available()) GTEST_SKIP() << "kiln built without OpenCV: gmc_method sparseOptFlow is refused";
  Tracker tracker(botsort_defaults());
  Result<std::vector<TrackedObject>> r = tracker.update({TrackDetection{{0, 0, 10, 10}, 0.9f, 0, {}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "tracker: gmc_method sparseOptFlow needs each frame's pixels (update with the frame)");
}

// botsort.yaml's sparseOptFlow runs where kiln has OpenCV, and is a config error naming
// what to do where it has not: never silently tracked as gmc_method none.
TEST(TrackerReference, MotionCompensationRunsOrSaysItNeedsOpenCv) {
  Tracker tracker(botsort_defaults());
  Image frame(64, 48);
  Result<std::vector<TrackedObject>> r = tracker.update({}, view_of(frame));
  if (motion_compensation_available()) {
    EXPECT_TRUE(r.ok()) << r.status().message();
    return;
  }
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("gmc_method sparseOptFlow needs kiln built with OpenCV"), std::string::npos);
}

TEST(TrackerReference, BotSortWithReidEqualsUltralytics) {
  TrackerConfig config = botsort_without_frames();
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
  TrackerConfig config = botsort_without_frames();
  config.with_reid = true;
  Tracker tracker(config);
  Result<std::vector<TrackedObject>> r = tracker.update({TrackDetection{{0, 0, 10, 10}, 0.9f, 0, {}}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("with_reid needs a feature"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace kiln::track
