// ImageFolder-style classification datasets and top-1 / top-5 accuracy.
#include <gtest/gtest.h>

#include "eval/classify_dataset.h"
#include "support/test_support.h"

namespace kiln::eval {
namespace {

TEST(EvalClassify, Imagenet10ValFolders) {
  KILN_REQUIRE_ASSETS();
  auto ds = load_classify_dataset(test::asset("datasets/imagenet10"));
  ASSERT_TRUE(ds.ok()) << ds.status().message();
  ASSERT_EQ(ds->names.size(), 10u);
  EXPECT_EQ(ds->names[0], "cock");  // sorted folder names
  ASSERT_EQ(ds->images.size(), 10u);
  for (size_t i = 0; i < ds->images.size(); ++i)
    EXPECT_EQ(ds->images[i].parent_path().filename().string(), ds->names[ds->labels[i]]);
  EXPECT_FALSE(load_classify_dataset(test::asset("datasets/imagenet10"), "test").ok());
}

TEST(EvalClassify, TopOneAndTopFive) {
  TopKAccuracy acc;
  acc.add(3, {3, 1, 2, 0, 4});     // top-1 and top-5
  acc.add(4, {0, 1, 2, 3, 4, 5});  // fifth: top-5 only
  acc.add(5, {0, 1, 2, 3, 4, 5});  // sixth: neither
  acc.add(7, {7});                 // fewer than five predictions
  EXPECT_EQ(acc.count(), 4);
  EXPECT_DOUBLE_EQ(acc.top1(), 2.0 / 4);
  EXPECT_DOUBLE_EQ(acc.top5(), 3.0 / 4);
}

}  // namespace
}  // namespace kiln::eval
