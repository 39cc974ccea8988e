#include "vision/mask_rle.h"

namespace kiln::vision {

std::vector<uint32_t> mask_runs(const uint8_t* mask, int width, int height) {
  std::vector<uint32_t> runs;
  uint8_t value = 0;
  uint32_t run = 0;
  for (int x = 0; x < width; ++x)
    for (int y = 0; y < height; ++y) {
      const uint8_t v = mask[static_cast<size_t>(y) * width + x] ? 1 : 0;
      if (v != value) {
        runs.push_back(run);
        run = 0;
        value = v;
      }
      ++run;
    }
  runs.push_back(run);
  return runs;
}

std::string coco_rle_counts(const std::vector<uint32_t>& runs) {
  std::string out;
  for (size_t i = 0; i < runs.size(); ++i) {
    int64_t x = runs[i];
    if (i > 2) x -= runs[i - 2];
    bool more = true;
    while (more) {
      char c = static_cast<char>(x & 0x1f);
      x >>= 5;  // arithmetic: a negative difference ends in -1
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      out += static_cast<char>(c + 48);
    }
  }
  return out;
}

}  // namespace kiln::vision
