// Work on items 0..n-1 done on background threads ahead of the one thread that consumes the
// results in index order: a folder's images are decoded (and letterboxed) on the machine's
// other cores while the caller runs inference on the ones before them. At most `ahead`
// results wait beyond the one the consumer asks for, so memory stays bounded on a folder of
// any size. `produce` runs on the worker threads, must be safe to call concurrently for
// different indices and must not throw (kiln's calls return Result). Destroying the
// prefetch early lets the workers finish the items they hold and joins them. With 0
// threads there are no workers: next() produces each item itself, when asked.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "core/cpu_count.h"

namespace kiln::core {

// Worker threads for decoding beside inference on a GPU: every core but the consumer's, at
// most 8 (more only contend for memory bandwidth), at least 1. Inference on the CPU backend
// uses every core itself, so there the answer is 0: decoding in between, on the same thread.
inline size_t prefetch_threads(bool inference_on_cpu) {
  if (inference_on_cpu) return 0;
  const size_t cores = usable_cores();
  return std::clamp<size_t>(cores > 1 ? cores - 1 : 1, 1, 8);
}

template <typename T>
class OrderedPrefetch {
 public:
  OrderedPrefetch(size_t count, size_t threads, size_t ahead, std::function<T(size_t)> produce)
      : produce_(std::move(produce)), slots_(count), ahead_(std::max<size_t>(ahead, 1)) {
    const size_t n = std::min(threads, count);
    workers_.reserve(n);
    for (size_t t = 0; t < n; ++t) workers_.emplace_back([this] { work(); });
  }
  ~OrderedPrefetch() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    room_.notify_all();
    for (std::thread& w : workers_) w.join();
  }
  OrderedPrefetch(const OrderedPrefetch&) = delete;
  OrderedPrefetch& operator=(const OrderedPrefetch&) = delete;

  size_t size() const { return slots_.size(); }

  // The next index's result, waiting for it; nullopt after the last.
  std::optional<T> next() {
    std::unique_lock lock(mu_);
    if (consumed_ == slots_.size()) return std::nullopt;
    if (workers_.empty()) return produce_(consumed_++);
    ready_.wait(lock, [&] { return slots_[consumed_].has_value(); });
    std::optional<T> item = std::move(slots_[consumed_]);
    slots_[consumed_].reset();
    ++consumed_;
    room_.notify_all();
    return item;
  }

 private:
  void work() {
    std::unique_lock lock(mu_);
    while (true) {
      room_.wait(lock, [&] { return stopping_ || claimed_ == slots_.size() || claimed_ < consumed_ + ahead_; });
      if (stopping_ || claimed_ == slots_.size()) return;
      const size_t i = claimed_++;
      lock.unlock();
      T item = produce_(i);
      lock.lock();
      slots_[i] = std::move(item);
      ready_.notify_all();
    }
  }

  std::function<T(size_t)> produce_;
  std::vector<std::optional<T>> slots_;  // a result waits here until consumed
  const size_t ahead_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  size_t claimed_ = 0, consumed_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;  // last: started once the state above exists
};

}  // namespace kiln::core
