#include "vision/image_io.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/file_util.h"
#include "cv2_reference.h"
#include "support/test_support.h"

namespace kiln::vision {
namespace {

namespace fs = std::filesystem;

// `scratch` comes from one temp_dir() call per test (each call empties the folder).
void expect_same_as_cv2_imread(const fs::path& path, const fs::path& scratch) {
  auto got = decode_image(path);
  ASSERT_TRUE(got.ok()) << got.status().message();
  auto ref = test::run_ref("imread '" + path.string() + "' '" + (scratch / "ref.raw").string() + "'", scratch / "ref.raw");
  ASSERT_TRUE(ref.has_value()) << "cv2 reference tool failed";
  ASSERT_EQ(got->width, ref->width);
  ASSERT_EQ(got->height, ref->height);
  EXPECT_EQ(test::count_differing_pixels(*got, *ref), 0u) << path << ": pixels differ from cv2.imread";
}

TEST(ImageIo, JpegDecodeMatchesCv2Imread) {
  KILN_REQUIRE_ASSETS();
  fs::path scratch = kiln::test::temp_dir();
  for (const char* name : {"bus.jpg", "zidane.jpg", "kite.jpg", "dog.jpg", "person.jpg"})
    expect_same_as_cv2_imread(kiln::test::asset(std::string("images/") + name), scratch);
}

TEST(ImageIo, PngDecodeMatchesCv2Imread) {
  fs::path scratch = kiln::test::temp_dir();
  fs::path png = scratch / "made.png";
  ASSERT_TRUE(test::make_png(png, 333, 251, 7));
  expect_same_as_cv2_imread(png, scratch);
}

TEST(ImageIo, SizeAndChannelOrder) {
  KILN_REQUIRE_ASSETS();
  auto img = decode_image(kiln::test::asset("images/bus.jpg"));
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->width, 810);
  EXPECT_EQ(img->height, 1080);
}

TEST(ImageIo, TruncatedJpegIsCorrupt) {
  KILN_REQUIRE_ASSETS();
  auto bytes = read_file(kiln::test::asset("images/bus.jpg"));
  ASSERT_TRUE(bytes.ok());
  for (size_t keep : {size_t{2000}, bytes->size() / 2, size_t{4}}) {
    std::vector<uint8_t> cut(bytes->begin(), bytes->begin() + static_cast<long>(keep));
    auto img = decode_image_bytes(cut, "cut.jpg");
    ASSERT_FALSE(img.ok()) << "kept " << keep << " bytes";
    EXPECT_EQ(img.status().code(), StatusCode::kCorrupt);
    EXPECT_NE(img.status().message().find("cut.jpg: not a decodable image ("), std::string::npos)
        << img.status().message();
  }
}

TEST(ImageIo, GarbageAfterJpegMagicIsCorrupt) {
  std::vector<uint8_t> bytes = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F'};
  bytes.resize(600, 0x5A);
  auto img = decode_image_bytes(bytes, "garbage.jpg");
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::kCorrupt);
}

TEST(ImageIo, TextFileAndEmptyFileAreCorrupt) {
  fs::path dir = kiln::test::temp_dir();
  std::ofstream(dir / "notes.jpg") << "this is not a JPEG\n";
  std::ofstream(dir / "empty.png");
  for (const char* name : {"notes.jpg", "empty.png"}) {
    auto img = decode_image(dir / name);
    ASSERT_FALSE(img.ok()) << name;
    EXPECT_EQ(img.status().code(), StatusCode::kCorrupt);
    EXPECT_NE(img.status().message().find((dir / name).string() + ": not a decodable image"), std::string::npos)
        << img.status().message();
  }
}

TEST(ImageIo, MissingFileIsNotFound) {
  auto img = decode_image(kiln::test::temp_dir() / "nope.jpg");
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::kNotFound);
}

TEST(ImageIo, SaveJpegRoundTrips) {
  Image img(64, 48);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      uint8_t* p = img.row(y) + 3 * x;
      p[0] = 200, p[1] = static_cast<uint8_t>(x * 4), p[2] = 30;  // B G R
    }
  fs::path out = kiln::test::temp_dir() / "saved.jpg";
  ASSERT_TRUE(save_jpeg(out, img, 95).ok());
  auto back = decode_image(out);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->width, 64);
  ASSERT_EQ(back->height, 48);
  int worst = 0;
  for (size_t i = 0; i < img.pixels.size(); ++i) worst = std::max(worst, std::abs(img.pixels[i] - back->pixels[i]));
  EXPECT_LE(worst, 12) << "JPEG round trip changed a channel by " << worst;
}

}  // namespace
}  // namespace kiln::vision
