// SideBySide: fn(0) on the caller, the other jobs on threads kept from one run to the next,
// all at once (each job below waits for every other), the jobs beyond its threads on the
// caller; destroying it joins its threads.
#include "core/side_by_side.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

namespace kiln::core {
namespace {

TEST(SideBySide, JobsRunAtOnceOnTheSameThreadsEveryRun) {
  SideBySide lanes(2);
  ASSERT_EQ(lanes.capacity(), 3u);
  std::vector<std::set<std::thread::id>> threads(3);
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> arrived{0};
    std::atomic<bool> all_met{true};
    std::vector<std::thread::id> ran_on(3);
    lanes.run(3, [&](size_t i) {
      ran_on[i] = std::this_thread::get_id();
      arrived.fetch_add(1);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (arrived.load() < 3)
        if (std::chrono::steady_clock::now() > deadline) {
          all_met = false;
          break;
        }
    });
    ASSERT_TRUE(all_met.load()) << "round " << round << ": the three jobs did not run at the same time";
    EXPECT_EQ(ran_on[0], std::this_thread::get_id());
    for (size_t i = 0; i < 3; ++i) threads[i].insert(ran_on[i]);
  }
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(threads[i].size(), 1u) << "job " << i << " moved between threads";
  EXPECT_NE(*threads[1].begin(), *threads[2].begin());
}

TEST(SideBySide, FewerJobsThanThreadsAndMoreRunEachExactlyOnce) {
  SideBySide lanes(3);
  for (size_t n : {0, 1, 2, 4, 7}) {
    std::vector<std::atomic<int>> calls(n);
    std::vector<std::thread::id> ran_on(n);
    lanes.run(n, [&](size_t i) {
      calls[i].fetch_add(1);
      ran_on[i] = std::this_thread::get_id();
    });
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(calls[i].load(), 1) << n << " jobs, job " << i;
    for (size_t i = lanes.capacity(); i < n; ++i)
      EXPECT_EQ(ran_on[i], std::this_thread::get_id()) << n << " jobs: job " << i << " is beyond the threads";
  }
}

}  // namespace
}  // namespace kiln::core
