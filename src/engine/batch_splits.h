// Which batches of a profile run as chunks side by side (cuda::BatchContext) instead of
// padded to the next prepared size. Chosen at build by measuring each candidate on the GPU
// and recorded in the engine's plans, so that a load runs the choice that was measured.
// A batch of n runs on the smallest prepared size >= n unless a split measured faster; the
// candidates are the greedy ones: the largest prepared size <= the rows left, k times
// (k = 1, 2, ...), then the rest on the smallest prepared size that holds it, each holding at
// most the largest prepared size's rows.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln::engine {

// n rows -> the prepared batches that run them side by side, in row order (only the n that
// split: every other n runs padded).
using BatchSplits = std::map<int64_t, std::vector<int64_t>>;

// The prepared batches that run n rows: its split, else the smallest prepared size >= n
// (else the largest). `prepared` ascending.
std::vector<int64_t> chunks_for(const std::vector<int64_t>& prepared, const BatchSplits& splits, int64_t n);

// "16 + 1"; and "3 = 2 + 1, 17 = 16 + 1": how kiln info, the build log and kiln bench name
// a way to run a batch and the splits.
std::string chunks_text(const std::vector<int64_t>& chunks);
std::string splits_text(const BatchSplits& splits);

// Every way to run n rows that choose_batch_splits weighs, padded first.
std::vector<std::vector<int64_t>> split_candidates(const std::vector<int64_t>& prepared, int64_t n);

// Times one way to run a batch (the prepared batches side by side): GPU ms.
using MeasureChunks = std::function<Result<double>(const std::vector<int64_t>& chunks)>;

// For each n between prepared sizes: the candidate that measured fastest, kept only when it
// beats padding by at least 2% (replays of one measurement vary by about 1%).
Result<BatchSplits> choose_batch_splits(const std::vector<int64_t>& prepared, const MeasureChunks& measure);

}  // namespace kiln::engine
