// Minimum-cost assignment of rows to columns with a cost limit, as Ultralytics' trackers
// call it: lap.lapjv(cost, extend_cost=True, cost_limit=thresh). The matrix is extended to
// (rows + cols) square with cost_limit / 2 off the original block, so a row is left
// unmatched when its best pairing costs more than leaving both sides free.
#pragma once

#include <utility>
#include <vector>

namespace kiln::track {

struct Assignment {
  std::vector<std::pair<int, int>> matches;  // (row, col), by increasing row
  std::vector<int> unmatched_rows;           // increasing
  std::vector<int> unmatched_cols;           // increasing
};

// `cost` is rows x cols, row-major.
Assignment linear_assignment(const std::vector<double>& cost, int rows, int cols, double cost_limit);

// Jonker-Volgenant on a dense n x n matrix: x[row] = col, y[col] = row.
void lapjv(const std::vector<double>& cost, int n, std::vector<int>& x, std::vector<int>& y);

}  // namespace kiln::track
