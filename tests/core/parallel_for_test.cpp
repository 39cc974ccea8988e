// parallel_for: every index exactly once; callers on several threads share one budget of
// helpers, all of which are back in it once the calls return.
#include "core/parallel_for.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace kiln::core {
namespace {

TEST(ParallelFor, CallsEveryIndexExactlyOnce) {
  std::vector<std::atomic<int>> calls(1000);
  parallel_for(calls.size(), [&](size_t i) { calls[i].fetch_add(1); });
  for (size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i].load(), 1) << i;
  int none = 0;
  parallel_for(0, [&](size_t) { ++none; });
  EXPECT_EQ(none, 0);
}

TEST(ParallelFor, OneItemRunsOnTheCallingThread) {
  std::thread::id ran_on;
  parallel_for(1, [&](size_t) { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(ParallelFor, CallersOnSeveralThreadsShareOneBudgetOfHelpers) {
  constexpr size_t kCallers = 4, kItems = 16;
  std::atomic<size_t> running{0}, most{0};
  std::vector<std::thread> callers;
  for (size_t c = 0; c < kCallers; ++c)
    callers.emplace_back([&] {
      parallel_for(kItems, [&](size_t) {
        const size_t now = running.fetch_add(1) + 1;
        size_t seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        running.fetch_sub(1);
      });
    });
  for (std::thread& t : callers) t.join();
  EXPECT_LE(most.load(), parallel_for_helpers() + kCallers);
  EXPECT_GE(most.load(), std::min<size_t>(kCallers, 2));
}

TEST(ParallelFor, EveryHelperIsBackInTheBudgetAfterTheCalls) {
  // As many items as helpers + the caller, each waiting for all the others: they finish only
  // if every helper of the budget was free to start.
  for (int round = 0; round < 3; ++round) {
    const size_t n = parallel_for_helpers() + 1;
    std::atomic<size_t> arrived{0};
    std::atomic<bool> all_met{true};
    parallel_for(n, [&](size_t) {
      arrived.fetch_add(1);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (arrived.load() < n) {
        if (std::chrono::steady_clock::now() > deadline) {
          all_met = false;
          return;
        }
        std::this_thread::yield();
      }
    });
    EXPECT_TRUE(all_met.load()) << "round " << round << ": fewer than " << n << " threads ran at once";
  }
}

}  // namespace
}  // namespace kiln::core
