// Which batches of a profile run split side by side: the candidates weighed, the measured
// choice (with a model of GPU times standing in for the GPU), and the lookup at run time.
#include "engine/batch_splits.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace kiln::engine {
namespace {

using Chunks = std::vector<int64_t>;
const std::vector<int64_t> kPowers = {1, 2, 4, 8, 16, 32};

TEST(BatchSplits, CandidatesArePaddedThenGreedySplits) {
  EXPECT_EQ(split_candidates(kPowers, 17), (std::vector<Chunks>{{32}, {16, 1}}));
  EXPECT_EQ(split_candidates(kPowers, 7), (std::vector<Chunks>{{8}, {4, 4}, {4, 2, 1}}));
  EXPECT_EQ(split_candidates(kPowers, 28), (std::vector<Chunks>{{32}, {16, 16}, {16, 8, 4}}));
  EXPECT_EQ(split_candidates(kPowers, 16), (std::vector<Chunks>{{16}}));
  // A profile from 4: one or two rows more than a prepared size pad their own chunk to 4.
  EXPECT_EQ(split_candidates({4, 8, 16}, 5), (std::vector<Chunks>{{8}, {4, 4}}));
  EXPECT_EQ(split_candidates({4, 8, 16}, 13), (std::vector<Chunks>{{16}, {8, 8}, {8, 4, 4}}));
  // No candidate holds more rows than the largest prepared size (the batch buffers): 6 of a
  // 5:5:8 profile is 8 padded, never 5 + 5.
  EXPECT_EQ(split_candidates({5, 6, 8}, 7), (std::vector<Chunks>{{8}}));
  EXPECT_EQ(split_candidates({5, 8}, 6), (std::vector<Chunks>{{8}}));
}

TEST(BatchSplits, ChunksForTakesTheSplitElseTheSmallestPreparedThatHolds) {
  const BatchSplits splits = {{17, {16, 1}}};
  EXPECT_EQ(chunks_for(kPowers, splits, 17), (Chunks{16, 1}));
  EXPECT_EQ(chunks_for(kPowers, splits, 18), (Chunks{32}));
  EXPECT_EQ(chunks_for(kPowers, splits, 3), (Chunks{4}));
  EXPECT_EQ(chunks_for(kPowers, splits, 1), (Chunks{1}));
  EXPECT_EQ(chunks_for(kPowers, splits, 40), (Chunks{32}));  // the caller bounds n; the largest
}

TEST(BatchSplits, TextNamesEachSplit) {
  EXPECT_EQ(chunks_text({16, 8, 1}), "16 + 8 + 1");
  EXPECT_EQ(chunks_text({32}), "32");
  EXPECT_EQ(splits_text({{3, {2, 1}}, {17, {16, 1}}}), "3 = 2 + 1, 17 = 16 + 1");
  EXPECT_EQ(splits_text({}), "");
}

// GPU ms of chunks side by side on a GPU that runs up to 16 rows' work at once: each chunk
// costs a fixed 0.27 ms plus 0.085 ms a row; chunks overlap while their rows fit.
double model_ms(const Chunks& chunks) {
  int64_t rows = 0;
  for (int64_t c : chunks) rows += c;
  const double longest = 0.27 + 0.085 * static_cast<double>(*std::max_element(chunks.begin(), chunks.end()));
  return std::max(longest, 0.27 + 0.085 * static_cast<double>(rows) * (rows > 16 ? 1.0 : 0.6));
}

TEST(BatchSplits, ChoosesTheFastestWhenItBeatsPaddingClearly) {
  int measured = 0;
  auto splits = choose_batch_splits(kPowers, [&](const Chunks& c) -> Result<double> {
    ++measured;
    return model_ms(c);
  });
  ASSERT_TRUE(splits.ok()) << splits.status().message();
  // 17: padded 2.99 ms, 16 + 1 1.715: split. 7: 4 + 2 + 1 (0.865) beats 4 + 4 (0.95) and
  // padded (0.95).
  EXPECT_EQ(splits->at(17), (Chunks{16, 1}));
  EXPECT_EQ(splits->at(7), (Chunks{4, 2, 1}));
  EXPECT_EQ(splits->count(16), 0u);  // prepared sizes are never split
  for (const auto& [n, chunks] : *splits) {
    int64_t rows = 0;
    for (int64_t c : chunks) rows += c;
    EXPECT_GE(rows, n);
    EXPECT_LT(model_ms(chunks), 0.98 * model_ms(chunks_for(kPowers, {}, n))) << n;
  }
  EXPECT_GT(measured, 26);  // every n between prepared sizes weighed
}

// A split within 2% of padding is noise, not a gain: padded stays.
TEST(BatchSplits, ASplitMustBeatPaddingByTwoPercent) {
  for (const auto& [split_ms, splits] : {std::pair{0.99, false}, std::pair{0.97, true}}) {
    auto chosen = choose_batch_splits({1, 2}, [](const Chunks&) -> Result<double> { return 1.0; });
    ASSERT_TRUE(chosen.ok());
    EXPECT_TRUE(chosen->empty());  // nothing between 1 and 2
    chosen = choose_batch_splits({1, 2, 4}, [&](const Chunks& c) -> Result<double> { return c.size() > 1 ? split_ms : 1.0; });
    ASSERT_TRUE(chosen.ok());
    EXPECT_EQ(chosen->count(3), splits ? 1u : 0u) << split_ms;
  }
}

TEST(BatchSplits, AMeasurementErrorStopsTheChoice) {
  auto splits = choose_batch_splits(kPowers, [](const Chunks&) -> Result<double> {
    return error(StatusCode::kInternal, "no GPU time");
  });
  ASSERT_FALSE(splits.ok());
  EXPECT_NE(splits.status().message().find("no GPU time"), std::string::npos);
}

TEST(BatchSplits, OnePreparedSizeHasNothingToSplit) {
  auto splits = choose_batch_splits({8}, [](const Chunks&) -> Result<double> { return 1.0; });
  ASSERT_TRUE(splits.ok());
  EXPECT_TRUE(splits->empty());
}

}  // namespace
}  // namespace kiln::engine
