// parse_int8_options: the int8 options from the arguments an edge received (the CLI's flags,
// the Python package's keywords), with the one-line errors both report.
#include <gtest/gtest.h>

#include "kiln/options.h"

namespace kiln {
namespace {

std::string message_of(const Int8Arguments& args, bool int8) {
  Result<Int8Options> o = parse_int8_options(args, int8);
  EXPECT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
  return o.ok() ? "" : o.status().message();
}

TEST(ParseInt8Options, NothingGivenIsTheDefault) {
  auto plain = parse_int8_options({}, false);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(*plain, Int8Options{});
  auto int8 = parse_int8_options({}, true);
  ASSERT_TRUE(int8.ok());
  EXPECT_EQ(*int8, Int8Options{});
}

TEST(ParseInt8Options, EveryArgumentReachesTheOptions) {
  Int8Arguments a{"data/coco8.yaml", 64, "percentile=99.9", {"*cv2*", "*model.0*"}, 0.01};
  auto o = parse_int8_options(a, true);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->calib, "data/coco8.yaml");
  EXPECT_EQ(o->calib_images, 64);
  EXPECT_EQ(o->method.kind, CalibrationMethod::Kind::kPercentile);
  EXPECT_EQ(o->method.percentile, 99.9);
  EXPECT_EQ(o->exclude, (std::vector<std::string>{"*cv2*", "*model.0*"}));
  EXPECT_EQ(o->target_drop, 0.01);
  // The bounds themselves are allowed.
  EXPECT_TRUE(parse_int8_options({"x", 1, "", {}, 0.0}, true).ok());
  EXPECT_TRUE(parse_int8_options({"x", 1, "", {}, 1.0}, true).ok());
}

TEST(ParseInt8Options, AnyArgumentWithoutInt8IsRefusedNamingTheFirst) {
  EXPECT_EQ(message_of({"x", 2, "", {}, {}}, false), "--calib applies to --precision int8 only");
  EXPECT_EQ(message_of({"", 2, "mse", {}, {}}, false), "--calib-images applies to --precision int8 only");
  EXPECT_EQ(message_of({"", {}, "mse", {}, {}}, false), "--calib-method applies to --precision int8 only");
  EXPECT_EQ(message_of({"", {}, "", {"*"}, {}}, false), "--int8-exclude applies to --precision int8 only");
  EXPECT_EQ(message_of({"", {}, "", {}, 0.5}, false), "--int8-target-drop applies to --precision int8 only");
}

TEST(ParseInt8Options, BadValuesNameTheOption) {
  EXPECT_EQ(message_of({"x", 0, "", {}, {}}, true), "--calib-images 0: expected at least 1");
  EXPECT_EQ(message_of({"x", {}, "kl", {}, {}}, true),
            "--calib-method: calibration method 'kl': expected one of minmax, entropy, percentile, percentile=P, mse");
  EXPECT_EQ(message_of({"x", {}, "", {}, 2.0}, true), "--int8-target-drop 2: expected a mAP drop in [0, 1]");
  EXPECT_EQ(message_of({"x", {}, "", {}, -0.5}, true), "--int8-target-drop -0.5: expected a mAP drop in [0, 1]");
}

TEST(ParseInt8Options, ConfigKeysAreNamedAsKilnYamlSpellsThem) {
  auto config_message = [](const Int8Arguments& a, bool int8) {
    auto r = parse_int8_options(a, int8, OptionSpelling::kConfigKey);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(config_message({"", 0, "", {}, {}}, true), "calib_images 0: expected at least 1");
  EXPECT_EQ(config_message({"x", {}, "", {}, 2.0}, true), "int8_target_drop 2: expected a mAP drop in [0, 1]");
  EXPECT_EQ(config_message({"x", {}, "kl", {}, {}}, true).substr(0, 37), "calib_method: calibration method 'kl'");
  EXPECT_EQ(config_message({"", {}, "", {"*"}, {}}, false), "int8_exclude applies to precision: int8 only");
}

}  // namespace
}  // namespace kiln
