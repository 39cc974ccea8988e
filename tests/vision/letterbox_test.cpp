#include "vision/letterbox.h"

#include <gtest/gtest.h>

#include "cv2_reference.h"
#include "support/test_support.h"
#include "vision/resize.h"

namespace kiln::vision {
namespace {

namespace fs = std::filesystem;

// Letterboxes `path` with kiln and with cv2 (Ultralytics' algorithm) and requires
// identical pixels. `scratch` comes from one temp_dir() call per test. With a stride, the
// minimal-padding variant (auto=True) is compared.
void expect_letterbox_matches_cv2(const fs::path& path, int h, int w, const fs::path& scratch, int stride = 0) {
  auto img = decode_image(path);
  ASSERT_TRUE(img.ok()) << img.status().message();
  Letterboxed got = stride ? letterbox_min_pad(*img, h, w, stride) : letterbox(*img, h, w);
  fs::path raw = scratch / "lb.raw";
  std::string args = "letterbox '" + path.string() + "' " + std::to_string(h) + " " + std::to_string(w) + " '" +
                     raw.string() + "'";
  if (stride) args.append(" ").append(std::to_string(stride));
  auto ref = test::run_ref(args, raw);
  ASSERT_TRUE(ref.has_value()) << "cv2 reference tool failed";
  ASSERT_EQ(got.image.width, ref->width);
  ASSERT_EQ(got.image.height, ref->height);
  size_t differing = test::count_differing_pixels(got.image, *ref);
  EXPECT_EQ(differing, 0u) << path.filename() << " -> " << h << "x" << w << ": " << differing
                           << " pixels differ from cv2 (of " << ref->width * ref->height << ")";
}

TEST(Letterbox, BusMatchesCv2) {
  KILN_REQUIRE_ASSETS();
  fs::path dir = kiln::test::temp_dir();
  expect_letterbox_matches_cv2(kiln::test::asset("images/bus.jpg"), 640, 640, dir);  // 810x1080 -> 480x640
}

TEST(Letterbox, ZidaneMatchesCv2) {
  KILN_REQUIRE_ASSETS();
  fs::path dir = kiln::test::temp_dir();
  // 1280x720 -> 640x360: an exact half, which OpenCV routes to its area fast path.
  expect_letterbox_matches_cv2(kiln::test::asset("images/zidane.jpg"), 640, 640, dir);
}

TEST(Letterbox, OtherImagesAndSizesMatchCv2) {
  KILN_REQUIRE_ASSETS();
  fs::path dir = kiln::test::temp_dir();
  expect_letterbox_matches_cv2(kiln::test::asset("images/kite.jpg"), 640, 640, dir);
  expect_letterbox_matches_cv2(kiln::test::asset("images/horses.jpg"), 640, 640, dir);
  expect_letterbox_matches_cv2(kiln::test::asset("images/bus.jpg"), 320, 256, dir);
  expect_letterbox_matches_cv2(kiln::test::asset("images/giraffe.jpg"), 416, 416, dir);
}

TEST(Letterbox, PngUpscalesMatchCv2) {
  fs::path dir = kiln::test::temp_dir();
  ASSERT_TRUE(test::make_png(dir / "odd.png", 333, 251, 3));
  ASSERT_TRUE(test::make_png(dir / "half.png", 320, 200, 4));
  ASSERT_TRUE(test::make_png(dir / "tall.png", 377, 500, 5));
  expect_letterbox_matches_cv2(dir / "odd.png", 640, 640, dir);   // r = 1.92, odd sizes, vector tail
  expect_letterbox_matches_cv2(dir / "half.png", 640, 640, dir);  // exact 2x upscale
  // 377x500 -> 483x640: a row of 1449 values, whose last 9 OpenCV computes with 8 SIMD
  // lanes and 1 scalar value (this pins the SIMD/scalar boundary).
  expect_letterbox_matches_cv2(dir / "tall.png", 640, 640, dir);
}

TEST(Letterbox, MinimalPaddingMatchesCv2) {
  KILN_REQUIRE_ASSETS();
  fs::path dir = kiln::test::temp_dir();
  expect_letterbox_matches_cv2(kiln::test::asset("images/bus.jpg"), 640, 640, dir, 32);
  expect_letterbox_matches_cv2(kiln::test::asset("images/horses.jpg"), 640, 640, dir, 32);
  auto img = decode_image(kiln::test::asset("images/bus.jpg"));
  ASSERT_TRUE(img.ok());
  Letterboxed lb = letterbox_min_pad(*img, 640, 640, 32);
  EXPECT_EQ(lb.image.width, 480);
  EXPECT_EQ(lb.image.height, 640);
  auto horses = decode_image(kiln::test::asset("images/horses.jpg"));  // 773x512 -> 640x424 -> 640x448
  ASSERT_TRUE(horses.ok());
  Letterboxed lh = letterbox_min_pad(*horses, 640, 640, 32);
  EXPECT_EQ(lh.image.height, 448);
  EXPECT_EQ(lh.pad_top, 12);
}

TEST(Letterbox, GeometryFollowsUltralytics) {
  Image img(810, 1080);
  Letterboxed lb = letterbox(img, 640, 640);
  EXPECT_EQ(lb.resized_width, 480);
  EXPECT_EQ(lb.resized_height, 640);
  EXPECT_EQ(lb.pad_left, 80);
  EXPECT_EQ(lb.pad_top, 0);
  // Odd padding: 5 px goes 2 above, 3 below (round(2.4), round(2.6)).
  Image wide(640, 635);
  Letterboxed lb2 = letterbox(wide, 640, 640);
  EXPECT_EQ(lb2.pad_top, 2);
  EXPECT_EQ(lb2.image.row(1)[0], kLetterboxPadValue);
  EXPECT_EQ(lb2.image.row(2)[0], 0);
  EXPECT_EQ(lb2.image.row(636)[0], 0);
  EXPECT_EQ(lb2.image.row(637)[0], kLetterboxPadValue);
  // Python rounds half to even: 5 * 0.5 = 2.5 -> 2.
  Image tiny(5, 4);
  Letterboxed lb3 = letterbox(tiny, 2, 4);
  EXPECT_EQ(lb3.resized_width, 2);
  EXPECT_EQ(lb3.resized_height, 2);
}

TEST(Letterbox, TensorIsRgbPlanarScaled) {
  Image img(2, 1);
  uint8_t* p = img.row(0);
  p[0] = 10, p[1] = 20, p[2] = 255;  // pixel 0: B G R
  p[3] = 0, p[4] = 51, p[5] = 102;   // pixel 1
  std::vector<float> t = to_nchw_rgb(img);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_FLOAT_EQ(t[0], 1.f);            // R plane
  EXPECT_FLOAT_EQ(t[1], 102 / 255.f);
  EXPECT_FLOAT_EQ(t[2], 20 / 255.f);     // G plane
  EXPECT_FLOAT_EQ(t[3], 51 / 255.f);
  EXPECT_FLOAT_EQ(t[4], 10 / 255.f);     // B plane
  EXPECT_FLOAT_EQ(t[5], 0.f);
}

TEST(Letterbox, StrideRounding) {
  EXPECT_EQ(round_up_to_stride(640, 32), 640);
  EXPECT_EQ(round_up_to_stride(600, 32), 608);
  EXPECT_EQ(round_up_to_stride(1, 32), 32);
}

}  // namespace
}  // namespace kiln::vision
