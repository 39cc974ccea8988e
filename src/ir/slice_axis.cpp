#include "ir/slice_axis.h"

#include <algorithm>
#include <limits>

namespace kiln::ir {

SliceAxis resolve_slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step) {
  // Clamp huge magnitudes first so `+ dim` cannot overflow (exporters write INT64_MAX/MIN).
  start = std::clamp<int64_t>(start, -dim - 1, dim + 1);
  end = std::clamp<int64_t>(end, -dim - 1, dim + 1);
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  SliceAxis r;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    r.count = end > start ? (end - start + step - 1) / step : 0;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    r.count = start > end ? (start - end - step - 1) / -step : 0;
  }
  r.start = start;
  return r;
}

}  // namespace kiln::ir
