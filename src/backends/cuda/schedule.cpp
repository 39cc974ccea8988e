#include "backends/cuda/schedule.h"

#include <algorithm>

#include "ir/dtype.h"

namespace kiln::cuda {
namespace {

// The bytes (or, for a channel view, the channels) of one root buffer a step touches.
struct Footprint {
  static constexpr int kEverything = -1;  // a step that declares no tensors
  static constexpr int kCublas = -2;      // the context's cuBLAS handle and its one workspace
  int buffer = kEverything;               // root slot id
  size_t lo = 0, hi = 0;                  // byte range within the root
  int64_t c0 = -1, c1 = -1;               // channel view: channels [c0, c1) of every pixel
};

bool overlap(const Footprint& a, const Footprint& b) {
  if (a.buffer == Footprint::kEverything || b.buffer == Footprint::kEverything) return true;
  if (a.buffer != b.buffer) return false;
  if (a.c0 >= 0 && b.c0 >= 0) return a.c0 < b.c1 && b.c0 < a.c1;
  return a.lo < b.hi && b.lo < a.hi;
}

// Footprints of `ids`; constants are read-only and left out.
std::vector<Footprint> footprints(const std::vector<Slot>& slots, const std::vector<int>& ids) {
  std::vector<Footprint> out;
  for (int id : ids) {
    const Slot& s = slots[id];
    const int root = s.root >= 0 ? s.root : id;
    if (s.constant || slots[root].constant) continue;
    Footprint f;
    f.buffer = root;
    if (!s.packed()) {
      f.hi = slots[root].bytes();
      f.c0 = static_cast<int64_t>(s.offset / ir::dtype_size(s.dtype));
      f.c1 = f.c0 + s.dims[1];
    } else {
      f.lo = s.root >= 0 ? s.offset : 0;
      f.hi = f.lo + s.bytes();
    }
    out.push_back(f);
  }
  return out;
}

bool any_overlap(const std::vector<Footprint>& a, const std::vector<Footprint>& b) {
  for (const Footprint& x : a)
    for (const Footprint& y : b)
      if (overlap(x, y)) return true;
  return false;
}

}  // namespace

Schedule schedule_steps(const std::vector<Slot>& slots, const std::vector<std::unique_ptr<Step>>& steps,
                        int max_lanes) {
  const int n = static_cast<int>(steps.size());
  max_lanes = std::max(1, max_lanes);
  std::vector<std::vector<Footprint>> reads(n), writes(n);
  for (int i = 0; i < n; ++i) {
    reads[i] = footprints(slots, steps[i]->reads);
    writes[i] = footprints(slots, steps[i]->writes);
    if (steps[i]->reads.empty() && steps[i]->writes.empty()) writes[i].push_back(Footprint{});
    if (steps[i]->uses_cublas()) writes[i].push_back(Footprint{Footprint::kCublas, 0, 1});
  }
  Schedule s;
  s.lane.assign(n, 0);
  s.waits.assign(n, {});
  s.signals.assign(n, 0);
  s.clock_.assign(n, std::vector<int>(max_lanes, -1));
  std::vector<std::vector<int>> after(n);  // clock once step i is complete
  std::vector<int> tail(max_lanes, -1);    // last step of each lane
  int used = 0;
  for (int j = 0; j < n; ++j) {
    // Earlier steps that j must follow, latest first.
    std::vector<int> deps;
    for (int i = j - 1; i >= 0; --i)
      if (any_overlap(writes[i], reads[j]) || any_overlap(writes[i], writes[j]) || any_overlap(reads[i], writes[j]))
        deps.push_back(i);
    std::vector<int> implied(max_lanes, -1);  // what waiting for all of deps would imply
    for (int d : deps)
      for (int l = 0; l < max_lanes; ++l) implied[l] = std::max(implied[l], after[d][l]);
    // A lane whose last step j must follow anyway costs no false ordering; of those the
    // latest continues a chain. Else a new lane, else the lane whose last step is oldest.
    int lane = -1;
    for (int l = 0; l < used; ++l)
      if (tail[l] <= implied[l] && (lane < 0 || tail[l] > tail[lane])) lane = l;
    if (lane < 0 && used < max_lanes) lane = used++;
    if (lane < 0) lane = static_cast<int>(std::min_element(tail.begin(), tail.end()) - tail.begin());
    std::vector<int> clock = tail[lane] >= 0 ? after[tail[lane]] : std::vector<int>(max_lanes, -1);
    for (int d : deps) {
      const int dl = s.lane[d];
      if (clock[dl] >= d) continue;  // complete already, through the lane or an earlier wait
      s.waits[j].push_back(d);
      s.signals[d] = 1;
      for (int l = 0; l < max_lanes; ++l) clock[l] = std::max(clock[l], after[d][l]);
    }
    s.lane[j] = lane;
    s.clock_[j] = clock;
    clock[lane] = j;
    after[j] = std::move(clock);
    tail[lane] = j;
  }
  s.lanes = std::max(used, 1);
  s.lane_last.assign(tail.begin(), tail.begin() + s.lanes);
  for (int l = 1; l < s.lanes; ++l)
    if (s.lane_last[l] >= 0) s.signals[s.lane_last[l]] = 1;
  return s;
}

std::vector<int> Schedule::critical_path(const std::vector<double>& step_ms) const {
  const int n = static_cast<int>(lane.size());
  std::vector<double> finish(n, 0);
  std::vector<int> from(n, -1), last(lanes, -1);
  for (int j = 0; j < n; ++j) {
    double start = 0;
    auto after = [&](int i) {
      if (i >= 0 && finish[i] > start) start = finish[i], from[j] = i;
    };
    after(last[lane[j]]);
    for (int w : waits[j]) after(w);
    finish[j] = start + (j < static_cast<int>(step_ms.size()) ? step_ms[j] : 0);
    last[lane[j]] = j;
  }
  std::vector<int> path;
  if (n == 0) return path;
  for (int j = static_cast<int>(std::max_element(finish.begin(), finish.end()) - finish.begin()); j >= 0; j = from[j])
    path.push_back(j);
  std::reverse(path.begin(), path.end());
  return path;
}

}  // namespace kiln::cuda
