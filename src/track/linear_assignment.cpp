// The Jonker-Volgenant solver of the `lap` package (gatagat/lap 0.5.13, _lapjv_cpp/lapjv.cpp,
// BSD-2-Clause, Copyright (c) 2012-2025 Tomas Kazmar), ported step for step: among equal-cost
// assignments it picks the one lap picks, which keeps track ids equal to Ultralytics'.
#include "track/linear_assignment.h"

#include <algorithm>

namespace kiln::track {

namespace {

constexpr double kLarge = 1000000;  // lap's LARGE: the initial column minimum

struct Dense {
  const std::vector<double>& cost;
  unsigned n;
  double at(unsigned i, unsigned j) const { return cost[static_cast<size_t>(i) * n + j]; }
};

// Column reduction and reduction transfer; returns the number of free rows.
unsigned column_reduction(const Dense& c, std::vector<int>& free_rows, std::vector<int>& x, std::vector<int>& y,
                          std::vector<double>& v) {
  const unsigned n = c.n;
  for (unsigned i = 0; i < n; ++i) x[i] = -1, v[i] = kLarge, y[i] = 0;
  for (unsigned i = 0; i < n; ++i)
    for (unsigned j = 0; j < n; ++j)
      if (c.at(i, j) < v[j]) v[j] = c.at(i, j), y[j] = static_cast<int>(i);
  std::vector<char> unique(n, 1);
  for (int j = static_cast<int>(n) - 1; j >= 0; --j) {
    const int i = y[j];
    if (x[i] < 0) {
      x[i] = j;
    } else {
      unique[i] = 0;
      y[j] = -1;
    }
  }
  unsigned n_free = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (x[i] < 0) {
      free_rows[n_free++] = static_cast<int>(i);
    } else if (unique[i]) {
      const unsigned j = static_cast<unsigned>(x[i]);
      double min = kLarge;
      for (unsigned j2 = 0; j2 < n; ++j2)
        if (j2 != j) min = std::min(min, c.at(i, j2) - v[j2]);
      v[j] -= min;
    }
  }
  return n_free;
}

// Augmenting row reduction; returns the number of rows still free.
unsigned augmenting_row_reduction(const Dense& c, unsigned n_free, std::vector<int>& free_rows, std::vector<int>& x,
                                  std::vector<int>& y, std::vector<double>& v) {
  const unsigned n = c.n;
  unsigned current = 0, new_free = 0, rr_cnt = 0;
  while (current < n_free) {
    ++rr_cnt;
    const int free_i = free_rows[current++];
    int j1 = 0, j2 = -1;
    double v1 = c.at(free_i, 0) - v[0], v2 = kLarge;
    for (unsigned j = 1; j < n; ++j) {
      const double h = c.at(free_i, j) - v[j];
      if (h < v2) {
        if (h >= v1) {
          v2 = h, j2 = static_cast<int>(j);
        } else {
          v2 = v1, v1 = h, j2 = j1, j1 = static_cast<int>(j);
        }
      }
    }
    int i0 = y[j1];
    const double v1_new = v[j1] - (v2 - v1);
    const bool v1_lowers = v1_new < v[j1];
    if (rr_cnt < current * n) {
      if (v1_lowers) {
        v[j1] = v1_new;
      } else if (i0 >= 0 && j2 >= 0) {
        j1 = j2;
        i0 = y[j2];
      }
      if (i0 >= 0) {
        if (v1_lowers)
          free_rows[--current] = i0;
        else
          free_rows[new_free++] = i0;
      }
    } else if (i0 >= 0) {
      free_rows[new_free++] = i0;
    }
    x[free_i] = j1;
    y[j1] = free_i;
  }
  return new_free;
}

// Moves the columns with the minimum d to the SCAN list cols[lo, hi); returns hi.
unsigned find_minimum(unsigned n, unsigned lo, const std::vector<double>& d, std::vector<int>& cols) {
  unsigned hi = lo + 1;
  double mind = d[cols[lo]];
  for (unsigned k = hi; k < n; ++k) {
    const int j = cols[k];
    if (d[j] <= mind) {
      if (d[j] < mind) hi = lo, mind = d[j];
      cols[k] = cols[hi];
      cols[hi++] = j;
    }
  }
  return hi;
}

// Scans the SCAN columns, lowering d of the TODO columns; returns a free column reached at
// the minimum distance, or -1.
int scan(const Dense& c, unsigned& plo, unsigned& phi, std::vector<double>& d, std::vector<int>& cols,
         std::vector<int>& pred, const std::vector<int>& y, const std::vector<double>& v) {
  unsigned lo = plo, hi = phi;
  while (lo != hi) {
    int j = cols[lo++];
    const int i = y[j];
    const double mind = d[j];
    const double h = c.at(i, j) - v[j] - mind;
    for (unsigned k = hi; k < c.n; ++k) {
      j = cols[k];
      const double cred = c.at(i, j) - v[j] - h;
      if (cred < d[j]) {
        d[j] = cred;
        pred[j] = i;
        if (cred == mind) {
          if (y[j] < 0) return j;
          cols[k] = cols[hi];
          cols[hi++] = j;
        }
      }
    }
  }
  plo = lo, phi = hi;
  return -1;
}

// One shortest augmenting path (modified Dijkstra) from `start_i`; returns its free column.
int find_path(const Dense& c, int start_i, const std::vector<int>& y, std::vector<double>& v, std::vector<int>& pred) {
  const unsigned n = c.n;
  unsigned lo = 0, hi = 0, n_ready = 0;
  int final_j = -1;
  std::vector<int> cols(n);
  std::vector<double> d(n);
  for (unsigned i = 0; i < n; ++i) {
    cols[i] = static_cast<int>(i);
    pred[i] = start_i;
    d[i] = c.at(start_i, i) - v[i];
  }
  while (final_j == -1) {
    if (lo == hi) {
      n_ready = lo;
      hi = find_minimum(n, lo, d, cols);
      for (unsigned k = lo; k < hi; ++k)
        if (y[cols[k]] < 0) final_j = cols[k];
    }
    if (final_j == -1) final_j = scan(c, lo, hi, d, cols, pred, y, v);
  }
  const double mind = d[cols[lo]];
  for (unsigned k = 0; k < n_ready; ++k) v[cols[k]] += d[cols[k]] - mind;
  return final_j;
}

void augment(const Dense& c, unsigned n_free, const std::vector<int>& free_rows, std::vector<int>& x, std::vector<int>& y,
             std::vector<double>& v) {
  std::vector<int> pred(c.n);
  for (unsigned f = 0; f < n_free; ++f) {
    const int free_i = free_rows[f];
    int i = -1;
    int j = find_path(c, free_i, y, v, pred);
    for (unsigned k = 0; i != free_i && k < c.n; ++k) {
      i = pred[j];
      y[j] = i;
      std::swap(j, x[i]);
    }
  }
}

}  // namespace

void lapjv(const std::vector<double>& cost, int n, std::vector<int>& x, std::vector<int>& y) {
  const Dense c{cost, static_cast<unsigned>(n)};
  x.assign(n, -1);
  y.assign(n, -1);
  std::vector<int> free_rows(n);
  std::vector<double> v(n);
  unsigned n_free = column_reduction(c, free_rows, x, y, v);
  for (int pass = 0; n_free > 0 && pass < 2; ++pass) n_free = augmenting_row_reduction(c, n_free, free_rows, x, y, v);
  if (n_free > 0) augment(c, n_free, free_rows, x, y, v);
}

Assignment linear_assignment(const std::vector<double>& cost, int rows, int cols, double cost_limit) {
  Assignment a;
  if (rows == 0 || cols == 0) {
    for (int i = 0; i < rows; ++i) a.unmatched_rows.push_back(i);
    for (int j = 0; j < cols; ++j) a.unmatched_cols.push_back(j);
    return a;
  }
  const int n = rows + cols;
  std::vector<double> extended(static_cast<size_t>(n) * n, cost_limit / 2.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double& e = extended[static_cast<size_t>(i) * n + j];
      if (i < rows && j < cols)
        e = cost[static_cast<size_t>(i) * cols + j];
      else if (i >= rows && j >= cols)
        e = 0;
    }
  std::vector<int> x, y;
  lapjv(extended, n, x, y);
  for (int i = 0; i < rows; ++i) {
    if (x[i] < cols)
      a.matches.emplace_back(i, x[i]);
    else
      a.unmatched_rows.push_back(i);
  }
  for (int j = 0; j < cols; ++j)
    if (y[j] >= rows) a.unmatched_cols.push_back(j);
  return a;
}

}  // namespace kiln::track
