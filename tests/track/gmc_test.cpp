// kiln's BoT-SORT motion compensation against Ultralytics 8.4.50's GMC: the warps of every
// method on MOT17-mini frames (tests/data/track/gmc_warps.json, made by
// tests/tools/make_gmc_reference.py with the same Debian OpenCV), and the Kalman warp of
// STrack.multi_gmc on hand-computed values. Built without OpenCV, every method but none is
// refused with a message that says so.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "track/gmc.h"
#include "track/kalman_filter.h"
#include "vision/image_io.h"

namespace kiln::track {
namespace {

namespace fs = std::filesystem;

nlohmann::json load_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

GmcMethod parse_method(const std::string& name) {
  for (GmcMethod m : {GmcMethod::kSparseOptFlow, GmcMethod::kOrb, GmcMethod::kSift, GmcMethod::kEcc})
    if (name == gmc_method_name(m)) return m;
  return GmcMethod::kNone;
}

// Same pixels into the same OpenCV calls: the warps agree to rounding. 1e-9 on the 2x2 part
// (about 1 at full scale) and 1e-6 px on the translation leave room for libm and SIMD
// differences between machines while catching any change of method, parameter, downscale,
// mask or point selection, which moves the warp by 1e-4 or more.
constexpr double kLinearTolerance = 1e-9;
constexpr double kTranslationTolerance = 1e-6;
// ECC is the exception: it iterates up to 5,000 times to a 1e-6 step, and OpenCV's SIMD
// dispatch (AVX-512 or AVX2) rounds each step's sums differently, so machines part by far
// more than rounding: an AMD EPYC without AVX-512 gives warps up to 2.9e-4 (2x2 part) and
// 0.026 px (translation) away from the reference machine's; the other methods stay within
// rounding there.
constexpr double kEccLinearTolerance = 1e-3;
constexpr double kEccTranslationTolerance = 0.1;

TEST(MotionCompensation, WarpsEqualUltralytics) {
  if (!motion_compensation_available()) GTEST_SKIP() << "kiln built without OpenCV: no motion compensation to compare";
  KILN_REQUIRE_ASSETS();
  const nlohmann::json ref = load_json(test::source_dir() / "tests" / "data" / "track" / "gmc_warps.json");
  const float high = ref["high_thresh"].get<float>();
  size_t compared = 0;
  for (const nlohmann::json& c : ref["cases"]) {
    const std::string method = c["method"];
    const nlohmann::json dets = load_json(test::source_dir() / "tests" / "data" / "track" / c["detections_from"].get<std::string>());
    Result<MotionCompensation> gmc = MotionCompensation::create(parse_method(method));
    ASSERT_TRUE(gmc.ok()) << gmc.status().message();
    for (size_t f = 0; f < c["frames"].size(); ++f) {
      const fs::path file = test::asset(c["frames_dir"].get<std::string>()) / c["frames"][f].get<std::string>();
      Result<vision::Image> image = vision::decode_image(file);
      ASSERT_TRUE(image.ok()) << image.status().message();
      std::vector<Box> boxes;
      for (const nlohmann::json& r : dets["detections"][f])
        if (r[4].get<float>() >= high) boxes.push_back({r[0].get<float>(), r[1].get<float>(), r[2].get<float>(), r[3].get<float>()});
      const Warp got = gmc->apply({image->width, image->height, image->pixels.data(), false}, boxes);
      const std::vector<double> want = c["warps"][f].get<std::vector<double>>();
      for (int i = 0; i < 6; ++i) {
        const bool ecc = method == gmc_method_name(GmcMethod::kEcc);
        const double tol = i % 3 == 2 ? (ecc ? kEccTranslationTolerance : kTranslationTolerance)
                                      : (ecc ? kEccLinearTolerance : kLinearTolerance);
        EXPECT_NEAR(got[i], want[i], tol) << method << " " << file << " element " << i;
      }
      ++compared;
    }
  }
  EXPECT_GE(compared, 35u);
}

TEST(MotionCompensation, ResetMakesTheNextFrameAFirstFrame) {
  if (!motion_compensation_available()) GTEST_SKIP() << "kiln built without OpenCV: no motion compensation to reset";
  KILN_REQUIRE_ASSETS();
  const fs::path dir = test::asset("datasets/MOT17-mini/train/MOT17-05-FRCNN/img1");
  Result<vision::Image> a = vision::decode_image(dir / "000001.jpg"), b = vision::decode_image(dir / "000002.jpg");
  ASSERT_TRUE(a.ok() && b.ok());
  Result<MotionCompensation> gmc = MotionCompensation::create(GmcMethod::kSparseOptFlow);
  ASSERT_TRUE(gmc.ok());
  const ImageView va{a->width, a->height, a->pixels.data(), false}, vb{b->width, b->height, b->pixels.data(), false};
  EXPECT_EQ(gmc->apply(va, {}), kIdentityWarp);
  const Warp moved = gmc->apply(vb, {});
  EXPECT_NE(moved, kIdentityWarp);
  gmc->reset();
  EXPECT_EQ(gmc->apply(vb, {}), kIdentityWarp);
  EXPECT_NE(gmc->apply(va, {}), moved);  // back from b to a
}

TEST(MotionCompensation, MethodsNeedOpenCv) {
  EXPECT_TRUE(check_motion_compensation(GmcMethod::kNone).ok());
  Status st = check_motion_compensation(GmcMethod::kSparseOptFlow);
  if (motion_compensation_available()) {
    EXPECT_TRUE(st.ok());
  } else {
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("gmc_method sparseOptFlow needs kiln built with OpenCV"), std::string::npos) << st.message();
    EXPECT_FALSE(MotionCompensation::create(GmcMethod::kOrb).ok());
  }
}

// multi_gmc with a rotation by 90 degrees, scale 2 and a shift: every (x, y) pair of the
// mean turns, only the position shifts, and the covariance becomes R8 P R8^T.
TEST(MotionCompensation, KalmanStateWarpsAsMultiGmc) {
  KalmanState s;
  s.mean = {10, 20, 3, 4, 1, 2, 0.5, -0.5};
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) s.covariance[i * 8 + j] = i == j ? i + 1 : (i / 2 == j / 2 ? 0.5 : 0);
  warp_state(s, {0, -2, 7, 2, 0, -3});
  const Vec8 want_mean = {-40 + 7, 20 - 3, -8, 6, -4, 2, 1, 1};
  for (int i = 0; i < 8; ++i) EXPECT_DOUBLE_EQ(s.mean[i], want_mean[i]) << i;
  // Block b of P is [[2b+1, .5], [.5, 2b+2]]; R [[p, q], [q, r]] R^T with R = [[0, -2], [2, 0]]
  // is [[4r, -4q], [-4q, 4p]].
  for (int b = 0; b < 4; ++b) {
    const double p = 2 * b + 1, r = 2 * b + 2;
    EXPECT_DOUBLE_EQ(s.covariance[(2 * b) * 8 + 2 * b], 4 * r);
    EXPECT_DOUBLE_EQ(s.covariance[(2 * b) * 8 + 2 * b + 1], -2.0);
    EXPECT_DOUBLE_EQ(s.covariance[(2 * b + 1) * 8 + 2 * b], -2.0);
    EXPECT_DOUBLE_EQ(s.covariance[(2 * b + 1) * 8 + 2 * b + 1], 4 * p);
  }
  EXPECT_DOUBLE_EQ(s.covariance[0 * 8 + 2], 0.0);
}

}  // namespace
}  // namespace kiln::track
