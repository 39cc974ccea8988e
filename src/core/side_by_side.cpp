#include "core/side_by_side.h"

#include <algorithm>

namespace kiln::core {

SideBySide::SideBySide(size_t helpers) {
  threads_.reserve(helpers);
  for (size_t h = 0; h < helpers; ++h) threads_.emplace_back([this, h] { helper_loop(h); });
}

SideBySide::~SideBySide() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  start_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void SideBySide::run(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  const size_t shared = std::min(n, capacity());
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    jobs_ = shared;
    pending_ = shared - 1;
    ++round_;
  }
  if (shared > 1) start_.notify_all();
  fn(0);
  for (size_t i = shared; i < n; ++i) fn(i);  // more jobs than threads: the rest here
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return pending_ == 0; });
  fn_ = nullptr;
}

void SideBySide::helper_loop(size_t helper) {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    start_.wait(lock, [&] { return stopping_ || round_ != seen; });
    if (stopping_) return;
    seen = round_;
    const size_t job = helper + 1;
    if (job >= jobs_) continue;  // this round has fewer jobs than helpers
    const std::function<void(size_t)>* fn = fn_;
    lock.unlock();
    (*fn)(job);
    lock.lock();
    if (--pending_ == 0) done_.notify_one();
  }
}

}  // namespace kiln::core
