// OrderedPrefetch: results in index order whatever order the workers finish in, never more
// than `ahead` results waiting, and an early end that joins the workers.
#include "core/ordered_prefetch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace kiln::core {
namespace {

TEST(OrderedPrefetch, HandsResultsOutInIndexOrder) {
  // Later indices finish first: item i sleeps (7 - i % 8) ms.
  OrderedPrefetch<int> p(40, 4, 8, [](size_t i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(7 - static_cast<int>(i % 8)));
    return static_cast<int>(i * i);
  });
  EXPECT_EQ(p.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    std::optional<int> v = p.next();
    ASSERT_TRUE(v.has_value()) << i;
    EXPECT_EQ(*v, i * i);
  }
  EXPECT_FALSE(p.next().has_value());
  EXPECT_FALSE(p.next().has_value());
}

TEST(OrderedPrefetch, KeepsAtMostAheadResultsBeyondTheConsumer) {
  std::atomic<int> started{0};
  constexpr size_t kAhead = 3;
  OrderedPrefetch<size_t> p(100, 4, kAhead, [&](size_t i) {
    started.fetch_add(1);
    return i;
  });
  for (size_t consumed = 0; consumed < 100; ++consumed) {
    // Give the workers time to run as far ahead as they may.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_LE(static_cast<size_t>(started.load()), consumed + kAhead) << "after " << consumed << " consumed";
    EXPECT_EQ(p.next(), consumed);
  }
  EXPECT_EQ(started.load(), 100);
}

TEST(OrderedPrefetch, EndingEarlyJoinsTheWorkers) {
  std::atomic<int> produced{0};
  {
    OrderedPrefetch<int> p(1000, 2, 4, [&](size_t i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      produced.fetch_add(1);
      return static_cast<int>(i);
    });
    EXPECT_EQ(p.next(), 0);
  }
  // Only the items that were in reach of the consumer were made.
  EXPECT_LE(produced.load(), 1 + 4 + 2);
}

TEST(OrderedPrefetch, WithoutThreadsEachItemIsMadeWhenAsked) {
  size_t made = 0;
  OrderedPrefetch<size_t> p(3, 0, 4, [&](size_t i) {
    ++made;
    return i * 10;
  });
  EXPECT_EQ(made, 0u);
  EXPECT_EQ(p.next(), 0u);
  EXPECT_EQ(made, 1u);
  EXPECT_EQ(p.next(), 10u);
  EXPECT_EQ(p.next(), 20u);
  EXPECT_FALSE(p.next().has_value());
  EXPECT_EQ(made, 3u);
  EXPECT_EQ(prefetch_threads(/*inference_on_cpu=*/true), 0u);
  EXPECT_GE(prefetch_threads(false), 1u);
}

TEST(OrderedPrefetch, NoItemsAndMoreThreadsThanItems) {
  OrderedPrefetch<int> none(0, 4, 4, [](size_t) { return 1; });
  EXPECT_FALSE(none.next().has_value());
  OrderedPrefetch<int> two(2, 8, 1, [](size_t i) { return static_cast<int>(i) + 10; });
  EXPECT_EQ(two.next(), 10);
  EXPECT_EQ(two.next(), 11);
  EXPECT_FALSE(two.next().has_value());
}

}  // namespace
}  // namespace kiln::core
