// Which steps of an engine may run at once. Most of a small model's time at small batches is
// one kernel after another, each too small to fill the GPU (OSNet's four streams of lite
// convs, YOLO's box and class heads at three scales); steps that touch no common tensor go
// to separate CUDA streams ("lanes") so the GPU overlaps them, and a captured CUDA graph
// keeps the branches. A step waits only for the steps on other lanes whose tensors it
// reads or overwrites; its own lane orders the rest. The arena planner asks this schedule
// whether two tensors may share memory (happens_before), so reuse never races.
#pragma once

#include <memory>
#include <vector>

#include "backends/cuda/plan.h"

namespace kiln::cuda {

struct Schedule {
  int lanes = 1;                        // lanes used (1: plan order on one stream)
  std::vector<int> lane;                // by step
  std::vector<std::vector<int>> waits;  // by step: steps of other lanes to wait for first
  std::vector<char> signals;            // by step: another lane waits for it (record an event)
  std::vector<int> lane_last;           // by lane: its last step (the caller's stream joins it)

  // True when step a is complete before step b starts, through stream order and waits.
  bool happens_before(int a, int b) const {
    return a < b && clock_[b][lane[a]] >= a;
  }

  // The steps of the longest chain of the schedule (lane order and waits) when each step
  // takes step_ms[i] (a profile's times), in order: no schedule of these steps runs in less
  // than the sum of their times.
  std::vector<int> critical_path(const std::vector<double>& step_ms) const;

 private:
  friend Schedule schedule_steps(const std::vector<Slot>&, const std::vector<std::unique_ptr<Step>>&, int);
  // By step: per lane, the last step of that lane known complete when the step starts.
  std::vector<std::vector<int>> clock_;
};

// Lanes for `steps` (plan order), at most max_lanes. Two steps depend on each other when
// one writes a tensor the other reads or writes (views of one buffer compared by bytes, and
// channel views of one buffer by channels); a step that declares no tensors is a barrier,
// and steps calling cuBLAS (one handle and workspace per context) keep their order.
Schedule schedule_steps(const std::vector<Slot>& slots, const std::vector<std::unique_ptr<Step>>& steps,
                        int max_lanes);

}  // namespace kiln::cuda
