// The image preprocessing of Ultralytics' val dataloader, which differs from predict's:
// load_image first resizes the long side to imgsz (dimensions rounded up, cv2
// INTER_LINEAR), then LetterBox(scaleup=False) pads to the batch shape.
#pragma once

#include <utility>
#include <vector>

#include "vision/image_io.h"

namespace kiln::eval {

struct ValInput {
  vision::Image image;        // target_width x target_height, BGR
  int resized_width = 0, resized_height = 0;  // the image's size inside the padding
  int pad_left = 0, pad_top = 0;
};

ValInput val_letterbox(const vision::Image& image, int imgsz, int target_height, int target_width);

// Rectangular batch shapes (height, width) for images of the given (height, width) sizes,
// as Ultralytics' set_rectangle with val padding 0.5: images sorted by aspect ratio h/w
// (stable), cut into batches of `batch`, each batch's shape fitting its extreme ratios.
// Returns each image's shape, in the input order.
std::vector<std::pair<int, int>> rect_shapes(const std::vector<std::pair<int, int>>& sizes, int batch, int imgsz,
                                             int stride);

}  // namespace kiln::eval
