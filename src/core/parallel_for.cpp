#include "core/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>
#include <vector>

#include "core/cpu_count.h"

namespace kiln::core {

namespace {

std::atomic<size_t>& free_helpers() {
  static std::atomic<size_t> free{parallel_for_helpers()};
  return free;
}

// Takes up to `wanted` helpers from the budget; returns how many it got.
size_t claim_helpers(size_t wanted) {
  std::atomic<size_t>& free = free_helpers();
  size_t available = free.load();
  size_t taken = 0;
  do {
    taken = std::min(wanted, available);
    if (taken == 0) return 0;
  } while (!free.compare_exchange_weak(available, available - taken));
  return taken;
}

}  // namespace

size_t parallel_for_helpers() {
  return usable_cores() - 1;
}

void parallel_for(size_t n, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
  };
  const size_t helpers = n > 1 ? claim_helpers(n - 1) : 0;
  std::vector<std::thread> threads;
  threads.reserve(helpers);
  try {
    for (size_t t = 0; t < helpers; ++t) threads.emplace_back(work);
  } catch (const std::system_error&) {
    // No more threads to be had: those running (the caller at least) take every index.
  }
  work();
  for (std::thread& t : threads) t.join();
  free_helpers().fetch_add(helpers);
}

}  // namespace kiln::core
