// Tracker YAML settings: the built-in names give Ultralytics 8.4.50's bytetrack.yaml and
// botsort.yaml values, a file overrides them key by key, and bad files are one-line errors
// naming the file and the key; a gmc_method other than none needs kiln built with OpenCV.
#include <gtest/gtest.h>

#include <fstream>

#include "support/test_support.h"
#include "track/gmc.h"
#include "track/tracker_config.h"

namespace kiln::track {
namespace {

std::string write(const std::string& name, const std::string& text) {
  const std::filesystem::path path = test::temp_dir() / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(TrackerConfig, BuiltInNamesAreUltralyticsDefaults) {
  Result<TrackerConfig> byte = load_tracker_config("bytetrack.yaml");
  ASSERT_TRUE(byte.ok()) << byte.status().message();
  EXPECT_EQ(byte->type, TrackerType::kByteTrack);
  EXPECT_EQ(byte->track_high_thresh, 0.25);
  EXPECT_EQ(byte->track_low_thresh, 0.1);
  EXPECT_EQ(byte->new_track_thresh, 0.25);
  EXPECT_EQ(byte->track_buffer, 30);
  EXPECT_EQ(byte->match_thresh, 0.8);
  EXPECT_TRUE(byte->fuse_score);
  Result<TrackerConfig> bot = load_tracker_config("botsort.yaml");
  if (!motion_compensation_available()) {
    ASSERT_FALSE(bot.ok());
    EXPECT_EQ(bot.status().message(),
              "botsort.yaml: gmc_method sparseOptFlow needs kiln built with OpenCV (KILN_OPENCV); use gmc_method: none");
    return;
  }
  ASSERT_TRUE(bot.ok()) << bot.status().message();
  EXPECT_EQ(bot->type, TrackerType::kBotSort);
  EXPECT_EQ(bot->gmc_method, GmcMethod::kSparseOptFlow);
  EXPECT_EQ(bot->proximity_thresh, 0.5);
  EXPECT_EQ(bot->appearance_thresh, 0.8);
  EXPECT_FALSE(bot->with_reid);
  EXPECT_EQ(bot->model, "auto");
}

TEST(TrackerConfig, EveryGmcMethodParsesWhereOpenCvIs) {
  for (const char* name : {"sparseOptFlow", "orb", "sift", "ecc"}) {
    const std::string path = write("gmc.yaml", std::string("tracker_type: botsort\ngmc_method: ") + name + "\n");
    Result<TrackerConfig> c = load_tracker_config(path);
    if (motion_compensation_available()) {
      ASSERT_TRUE(c.ok()) << c.status().message();
      EXPECT_STREQ(gmc_method_name(c->gmc_method), name);
    } else {
      ASSERT_FALSE(c.ok()) << name;
      EXPECT_NE(c.status().message().find(path + ": gmc_method " + name + " needs kiln built with OpenCV"), std::string::npos)
          << c.status().message();
    }
  }
}

TEST(TrackerConfig, FileOverridesDefaults) {
  const std::string path = write("mine.yaml",
                                 "tracker_type: botsort\ntrack_buffer: 60\nmatch_thresh: 0.7\nfuse_score: False\n"
                                 "gmc_method: none\nwith_reid: True\n");
  Result<TrackerConfig> c = load_tracker_config(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->type, TrackerType::kBotSort);
  EXPECT_EQ(c->track_buffer, 60);
  EXPECT_EQ(c->match_thresh, 0.7);
  EXPECT_FALSE(c->fuse_score);
  EXPECT_EQ(c->gmc_method, GmcMethod::kNone);
  EXPECT_TRUE(c->with_reid);
  EXPECT_EQ(c->track_high_thresh, 0.25);
}

TEST(TrackerConfig, BadFilesNameFileAndKey) {
  struct Case {
    const char* text;
    const char* expect;
  };
  const Case cases[] = {
      {"track_buffer: 30\n", "no tracker_type"},
      {"tracker_type: sort\n", "tracker_type must be bytetrack or botsort"},
      {"tracker_type: bytetrack\nmatch_thres: 0.8\n", "unknown tracker setting 'match_thres'"},
      {"tracker_type: bytetrack\ntrack_buffer: many\n", "track_buffer has an invalid value 'many'"},
      {"tracker_type: bytetrack\nwith_reid: True\n", "with_reid applies to tracker_type botsort only"},
      {"tracker_type: botsort\ngmc_method: flow\n", "gmc_method must be none, sparseOptFlow"},
      {"tracker_type: bytetrack\nmatch_thresh: 1.5\n", "match_thresh must be in [0, 1]"},
      {"tracker_type: [bytetrack\n", "not valid YAML"},
  };
  for (const Case& c : cases) {
    const std::string path = write("bad.yaml", c.text);
    Result<TrackerConfig> r = load_tracker_config(path);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
  }
  Result<TrackerConfig> missing = load_tracker_config("/nonexistent/tracker.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no such tracker file"), std::string::npos);
}

}  // namespace
}  // namespace kiln::track
