#include "quant/calibration_data.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/npy.h"
#include "support/test_support.h"
#include "vision/image_io.h"
#include "vision/letterbox.h"

namespace kiln::quant {
namespace {

namespace fs = std::filesystem;

fs::path coco8() { return test::asset("datasets/coco8"); }

TEST(CalibrationData, FolderGlobAndDatasetYamlListTheSameSortedImages) {
  KILN_REQUIRE_ASSETS();
  auto folder = calibration_files((coco8() / "images/train").string(), 3);
  ASSERT_TRUE(folder.ok()) << folder.status().message();
  ASSERT_EQ(folder->size(), 3u);
  EXPECT_TRUE(std::is_sorted(folder->begin(), folder->end()));
  EXPECT_EQ(folder->front().filename(), "000000000009.jpg");
  auto glob = calibration_files((coco8() / "images/train/*.jpg").string(), 3);
  ASSERT_TRUE(glob.ok()) << glob.status().message();
  EXPECT_EQ(*glob, *folder);
  auto yaml = calibration_files((coco8() / "coco8.yaml").string(), 512);  // the train split: 4 images
  ASSERT_TRUE(yaml.ok()) << yaml.status().message();
  ASSERT_EQ(yaml->size(), 4u);
  EXPECT_EQ(fs::canonical(yaml->front()), fs::canonical(folder->front()));
}

TEST(CalibrationData, InputIsPredictsLetterbox) {
  KILN_REQUIRE_ASSETS();
  const fs::path bus = test::asset("images/bus.jpg");
  auto t = calibration_input(bus, 96, 128);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->shape(), (std::vector<int64_t>{1, 3, 96, 128}));
  auto image = vision::decode_image(bus);
  ASSERT_TRUE(image.ok());
  const std::vector<float> want = vision::to_nchw_rgb(vision::letterbox(*image, 96, 128).image);
  EXPECT_TRUE(std::equal(want.begin(), want.end(), t->data<float>()));
}

TEST(CalibrationData, BadDataIsAnErrorNamingIt) {
  const fs::path dir = test::temp_dir() / "calib_bad";
  fs::remove_all(dir);
  fs::create_directories(dir / "empty");
  auto empty = calibration_files((dir / "empty").string(), 8);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("empty: no images"), std::string::npos) << empty.status().message();
  auto missing = calibration_files((dir / "nope").string(), 8);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto no_match = calibration_files((dir / "*.png").string(), 8);
  ASSERT_FALSE(no_match.ok());
  EXPECT_NE(no_match.status().message().find("no images match"), std::string::npos);

  std::ofstream(dir / "broken.jpg") << "not a jpeg";
  auto broken = calibration_input(dir / "broken.jpg", 64, 64);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("broken.jpg"), std::string::npos);

  ASSERT_TRUE(write_npy(dir / "small.npy", NpyArray{{1, 3, 32, 32}, std::vector<float>(3 * 32 * 32, 0.5f)}).ok());
  auto wrong = calibration_input(dir / "small.npy", 64, 64);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("small.npy: tensor of shape [1,3,32,32], expected [1,3,64,64]"),
            std::string::npos)
      << wrong.status().message();
  auto right = calibration_input(dir / "small.npy", 32, 32);
  ASSERT_TRUE(right.ok()) << right.status().message();
  EXPECT_EQ(right->data<float>()[5], 0.5f);
  EXPECT_FALSE(calibration_files(dir.string(), 0).ok());
}

TEST(CalibrationData, DatasetYamlWithoutImagesIsAnError) {
  const fs::path dir = test::temp_dir() / "calib_yaml";
  fs::remove_all(dir);
  fs::create_directories(dir / "images");
  std::ofstream(dir / "data.yaml") << "path: .\ntrain: images\nval: images\nnames: [a]\n";
  auto r = calibration_files((dir / "data.yaml").string(), 8);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("data.yaml: no images in the dataset's train or val split"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace kiln::quant
