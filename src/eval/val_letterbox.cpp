#include "eval/val_letterbox.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "vision/letterbox.h"
#include "vision/resize.h"

namespace kiln::eval {

ValInput val_letterbox(const vision::Image& image, int imgsz, int target_height, int target_width) {
  // load_image: long side to imgsz, each side ceil(side * r) capped at imgsz.
  vision::Image loaded = image;
  const double r0 = static_cast<double>(imgsz) / std::max(image.width, image.height);
  if (r0 != 1.0) {
    const int w = std::min(static_cast<int>(std::ceil(image.width * r0)), imgsz);
    const int h = std::min(static_cast<int>(std::ceil(image.height * r0)), imgsz);
    loaded = vision::resize_linear(image, w, h);
  }
  // LetterBox(auto=False, scaleup=False, center=True); Python's round() is half-even.
  const double r = std::min({static_cast<double>(target_height) / loaded.height,
                             static_cast<double>(target_width) / loaded.width, 1.0});
  const int nw = static_cast<int>(std::nearbyint(loaded.width * r));
  const int nh = static_cast<int>(std::nearbyint(loaded.height * r));
  if (nw != loaded.width || nh != loaded.height) loaded = vision::resize_linear(loaded, nw, nh);
  const double dw = (target_width - nw) / 2.0, dh = (target_height - nh) / 2.0;
  ValInput out;
  out.pad_left = static_cast<int>(std::nearbyint(dw - 0.1));
  out.pad_top = static_cast<int>(std::nearbyint(dh - 0.1));
  out.resized_width = nw;
  out.resized_height = nh;
  out.image = vision::Image(target_width, target_height, vision::kLetterboxPadValue);
  for (int y = 0; y < nh; ++y)
    std::memcpy(out.image.row(y + out.pad_top) + static_cast<size_t>(out.pad_left) * 3, loaded.row(y),
                static_cast<size_t>(nw) * 3);
  return out;
}

std::vector<std::pair<int, int>> rect_shapes(const std::vector<std::pair<int, int>>& sizes, int batch, int imgsz,
                                             int stride) {
  const size_t n = sizes.size();
  std::vector<double> ar(n);
  for (size_t i = 0; i < n; ++i) ar[i] = static_cast<double>(sizes[i].first) / sizes[i].second;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ar[a] < ar[b]; });
  std::vector<std::pair<int, int>> shapes(n);
  for (size_t start = 0; start < n; start += static_cast<size_t>(batch)) {
    const size_t end = std::min(n, start + static_cast<size_t>(batch));
    const double mini = ar[order[start]], maxi = ar[order[end - 1]];
    double sh = 1, sw = 1;
    if (maxi < 1) sh = maxi;
    else if (mini > 1) sw = 1 / mini;
    auto side = [&](double s) { return static_cast<int>(std::ceil(s * imgsz / stride + 0.5)) * stride; };
    for (size_t k = start; k < end; ++k) shapes[order[k]] = {side(sh), side(sw)};
  }
  return shapes;
}

}  // namespace kiln::eval
