// parse_model_metadata on hand-written metadata_props (the real models' props are
// checked in tests/onnx/model_metadata_from_models_test.cpp).
#include "ir/model_metadata.h"

#include <gtest/gtest.h>

namespace kiln::ir {
namespace {

TEST(ModelMetadata, MissingKeysKeepDefaults) {
  Result<ModelMetadata> m = parse_model_metadata({});
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->task, "");
  EXPECT_TRUE(m->names.empty());
  EXPECT_EQ(m->stride, 32);
  EXPECT_EQ(m->imgsz_h, 0);
  EXPECT_EQ(m->imgsz_w, 0);
  EXPECT_TRUE(m->kpt_shape.empty());
  EXPECT_EQ(m->batch, 1);
  EXPECT_FALSE(m->end2end);
  EXPECT_EQ(m->version, "");
}

TEST(ModelMetadata, ParsesEveryKey) {
  Result<ModelMetadata> m = parse_model_metadata({
      {"task", "pose"},
      {"names", "{0: 'person', 1: \"it's\", 2: 'say \\'hi\\'', 3: 'back\\\\slash', 4: 'caf\\xe9', 5: 'x\\u4e2d',}"},
      {"stride", "16.0"},
      {"imgsz", "[320, 640]"},
      {"kpt_shape", "[17, 3]"},
      {"batch", "8"},
      {"end2end", "True"},
      {"version", "8.4.50"},
      {"author", "ignored"},
  });
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->task, "pose");
  EXPECT_EQ(m->names, (std::vector<std::string>{"person", "it's", "say 'hi'", "back\\slash", "caf\xc3\xa9",
                                                "x\xe4\xb8\xad"}));
  EXPECT_EQ(m->stride, 16);
  EXPECT_EQ(m->imgsz_h, 320);
  EXPECT_EQ(m->imgsz_w, 640);
  EXPECT_EQ(m->kpt_shape, (std::vector<int64_t>{17, 3}));
  EXPECT_EQ(m->batch, 8);
  EXPECT_TRUE(m->end2end);
  EXPECT_EQ(m->version, "8.4.50");
}

TEST(ModelMetadata, SingleImgszAndNameList) {
  Result<ModelMetadata> m = parse_model_metadata({{"imgsz", "224"}, {"names", "['cat', \"dog\"]"}, {"end2end", "False"}});
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->imgsz_h, 224);
  EXPECT_EQ(m->imgsz_w, 224);
  EXPECT_EQ(m->names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_FALSE(m->end2end);
}

TEST(ModelMetadata, NamesDictOutOfOrderIsSortedById) {
  Result<ModelMetadata> m = parse_model_metadata({{"names", "{1: 'b', 0: 'a'}"}});
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->names, (std::vector<std::string>{"a", "b"}));
}

struct BadCase {
  const char* key;
  const char* value;
};

class MalformedMetadata : public ::testing::TestWithParam<BadCase> {};

TEST_P(MalformedMetadata, IsInvalidArgumentNamingTheKey) {
  const BadCase& c = GetParam();
  Result<ModelMetadata> m = parse_model_metadata({{"task", "detect"}, {c.key, c.value}});
  ASSERT_FALSE(m.ok()) << c.key << "=" << c.value;
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find(std::string("'") + c.key + "'"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("malformed"), std::string::npos) << m.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedMetadata,
    ::testing::Values(BadCase{"names", "{0: 'person', 1: }"}, BadCase{"names", "{0: 'a', 2: 'b'}"},
                      BadCase{"names", "{0: 'a', 0: 'b'}"}, BadCase{"names", "{0: 'a'"},
                      BadCase{"names", "{0: 'unterminated}"}, BadCase{"names", "{0: 'a'} extra"},
                      BadCase{"names", "person, bicycle"}, BadCase{"names", "{0: 'bad \\x4'}"},
                      BadCase{"stride", "abc"}, BadCase{"stride", "16.5"}, BadCase{"stride", "0"},
                      BadCase{"imgsz", "[640, abc]"}, BadCase{"imgsz", "[640, 640, 3]"}, BadCase{"imgsz", "[]"},
                      BadCase{"imgsz", "[640 640]"}, BadCase{"kpt_shape", "[17]"}, BadCase{"kpt_shape", "17, 3"},
                      BadCase{"batch", "-1"}, BadCase{"batch", ""}, BadCase{"end2end", "maybe"},
                      // Sizes kiln would allocate from, and text that JSON cannot carry.
                      BadCase{"imgsz", "[100000, 640]"}, BadCase{"imgsz", "1000000000000"},
                      BadCase{"stride", "100000"}, BadCase{"batch", "100000"}, BadCase{"kpt_shape", "[100000, 3]"},
                      BadCase{"names", "{0: 'caf\xe9'}"}, BadCase{"names", "{0: '\xc0\x80'}"},
                      BadCase{"names", "{0: '\xed\xa0\x80'}"}, BadCase{"names", "{0: '\\ud800'}"},
                      BadCase{"version", "8.3\xff" "a"}));

}  // namespace
}  // namespace kiln::ir
