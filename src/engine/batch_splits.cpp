#include "engine/batch_splits.h"

#include <algorithm>
#include <numeric>

namespace kiln::engine {

namespace {

// A split is kept when it beats padding by this fraction: more than the replays' spread in
// one measurement (about 1%), less than what separates the sizes it chooses between.
constexpr double kMinGain = 0.02;

int64_t smallest_holding(const std::vector<int64_t>& prepared, int64_t n) {
  for (int64_t b : prepared)
    if (b >= n) return b;
  return prepared.back();
}

int64_t largest_within(const std::vector<int64_t>& prepared, int64_t n) {
  int64_t out = 0;
  for (int64_t b : prepared)
    if (b <= n) out = b;
  return out;
}

}  // namespace

std::vector<int64_t> chunks_for(const std::vector<int64_t>& prepared, const BatchSplits& splits, int64_t n) {
  if (auto it = splits.find(n); it != splits.end()) return it->second;
  return {smallest_holding(prepared, n)};
}

std::string chunks_text(const std::vector<int64_t>& chunks) {
  std::string out;
  for (int64_t c : chunks) out += (out.empty() ? "" : " + ") + std::to_string(c);
  return out;
}

std::string splits_text(const BatchSplits& splits) {
  std::string out;
  for (const auto& [n, chunks] : splits) out += (out.empty() ? "" : ", ") + std::to_string(n) + " = " + chunks_text(chunks);
  return out;
}

std::vector<std::vector<int64_t>> split_candidates(const std::vector<int64_t>& prepared, int64_t n) {
  std::vector<std::vector<int64_t>> out = {{smallest_holding(prepared, n)}};
  std::vector<int64_t> taken;
  for (int64_t left = n;;) {
    const int64_t b = largest_within(prepared, left);
    if (b == 0 || b == left) break;  // nothing fits, or the rest is itself prepared (padded above or below)
    taken.push_back(b);
    left -= b;
    std::vector<int64_t> c = taken;
    c.push_back(smallest_holding(prepared, left));
    // The chunks' rows must fit the buffers a batch context holds: the largest prepared size.
    const int64_t rows = std::accumulate(c.begin(), c.end(), int64_t{0});
    if (c != out.front() && rows <= prepared.back()) out.push_back(std::move(c));
  }
  return out;
}

Result<BatchSplits> choose_batch_splits(const std::vector<int64_t>& prepared, const MeasureChunks& measure) {
  BatchSplits out;
  if (prepared.size() < 2) return out;
  for (int64_t n = prepared.front() + 1; n < prepared.back(); ++n) {
    if (std::binary_search(prepared.begin(), prepared.end(), n)) continue;
    const std::vector<std::vector<int64_t>> candidates = split_candidates(prepared, n);
    if (candidates.size() < 2) continue;
    KILN_ASSIGN_OR_RETURN(const double padded, measure(candidates.front()));
    double best = padded * (1 - kMinGain);
    for (size_t i = 1; i < candidates.size(); ++i) {
      KILN_ASSIGN_OR_RETURN(const double ms, measure(candidates[i]));
      if (ms < best) {
        best = ms;
        out[n] = candidates[i];
      }
    }
  }
  return out;
}

}  // namespace kiln::engine
