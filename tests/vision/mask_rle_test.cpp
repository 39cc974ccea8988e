// COCO RLE of masks against pycocotools 2.0.11's mask.encode on the same masks (the counts
// strings below are what it printed).
#include <gtest/gtest.h>

#include "vision/mask_rle.h"

namespace kiln::vision {
namespace {

// A height x width mask from column-major runs (0s first), as pycocotools reads them.
std::vector<uint8_t> from_runs(const std::vector<uint32_t>& runs, int width, int height) {
  std::vector<uint8_t> column_major;
  uint8_t v = 0;
  for (uint32_t r : runs) {
    column_major.insert(column_major.end(), r, v);
    v ^= 1;
  }
  std::vector<uint8_t> mask(column_major.size());
  for (int x = 0; x < width; ++x)
    for (int y = 0; y < height; ++y) mask[static_cast<size_t>(y) * width + x] = column_major[static_cast<size_t>(x) * height + y];
  return mask;
}

TEST(MaskRle, EmptyMaskIsOneRunOfZeros) {
  const std::vector<uint8_t> mask(16, 0);
  EXPECT_EQ(mask_runs(mask.data(), 4, 4), std::vector<uint32_t>{16});
  EXPECT_EQ(coco_rle_counts(mask_runs(mask.data(), 4, 4)), "`0");  // 16 needs a continuation character
}

TEST(MaskRle, RunsGoDownColumnsFirst) {
  const std::vector<uint8_t> mask = {0, 1,   // row 0
                                     1, 1};  // row 1
  EXPECT_EQ(mask_runs(mask.data(), 2, 2), (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(coco_rle_counts({1, 3}), "13");
}

TEST(MaskRle, TopLeftPixelSetStartsWithAnEmptyRun) {
  const std::vector<uint8_t> mask = {1, 0, 0, 0};
  EXPECT_EQ(mask_runs(mask.data(), 2, 2), (std::vector<uint32_t>{0, 1, 3}));
}

TEST(MaskRle, LaterRunsAreDifferencesToTheRunTwoBefore) {
  for (const auto& [runs, width, height, want] :
       {std::tuple<std::vector<uint32_t>, int, int, std::string>{{2, 3, 4, 5}, 7, 2, "2342"},
        {{1, 5, 1, 2}, 3, 3, "151M"}}) {  // 2 - 5 = -3: a negative difference
    const std::vector<uint8_t> mask = from_runs(runs, width, height);
    EXPECT_EQ(mask_runs(mask.data(), width, height), runs);
    EXPECT_EQ(coco_rle_counts(runs), want);
  }
}

}  // namespace
}  // namespace kiln::vision
