// Writes done in order on a thread of their own, so a frame loop hands off what it writes
// and goes on with the next frame: a pipeline frame's JSON line with 20 people's ReID
// vectors is about 260 KB of text, 2-3 ms to format on one core. A bounded queue holds the
// loop back when the writer falls behind; after the first failure the rest is skipped and
// finish() returns it.
#pragma once

#include <functional>
#include <thread>

#include "bounded_queue.h"
#include "kiln/status.h"

namespace kiln::cli {

class SerialWriter {
 public:
  explicit SerialWriter(size_t depth = 64) : queue_(depth), thread_([this] { drain(); }) {}
  ~SerialWriter() { (void)finish(); }
  SerialWriter(const SerialWriter&) = delete;
  SerialWriter& operator=(const SerialWriter&) = delete;

  void push(std::function<Status()> write) { queue_.push(std::move(write)); }

  // Waits for every queued write; the first failure, if any.
  Status finish() {
    queue_.close();
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  void drain() {
    while (std::optional<std::function<Status()>> write = queue_.pop())
      if (status_.ok()) status_ = (*write)();
  }

  BoundedQueue<std::function<Status()>> queue_;
  Status status_ = Status::Ok();  // the writer thread's until finish() joins it
  std::thread thread_;
};

}  // namespace kiln::cli
