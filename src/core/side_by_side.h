// Threads kept for a caller that runs the same few jobs side by side many times a second: a
// pipeline frame's stages, each a few milliseconds of GPU work. run(n, fn) calls fn(0) on
// the calling thread and fn(1) .. fn(n - 1) on threads started once, at construction, and
// returns when every call has returned. parallel_for starts its helpers per call, which a
// video at hundreds of frames a second pays every frame, with each new thread's first CUDA
// calls on top.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::core {

class SideBySide {
 public:
  // `helpers` threads, so that run() takes up to helpers + 1 jobs.
  explicit SideBySide(size_t helpers);
  ~SideBySide();  // joins the helpers
  SideBySide(const SideBySide&) = delete;
  SideBySide& operator=(const SideBySide&) = delete;

  size_t capacity() const { return threads_.size() + 1; }
  // fn(0) here, fn(i) on helper i - 1 (beyond capacity(), here after fn(0)). `fn` must not
  // throw (kiln's calls return Result). One run at a time: the owner calls it from one thread.
  void run(size_t n, const std::function<void(size_t)>& fn);

 private:
  void helper_loop(size_t helper);

  std::mutex mu_;
  std::condition_variable start_, done_;
  const std::function<void(size_t)>* fn_ = nullptr;
  size_t jobs_ = 0, pending_ = 0;
  uint64_t round_ = 0;  // each run() starts a new round; a helper takes each round once
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // last: started once the members above exist
};

}  // namespace kiln::core
