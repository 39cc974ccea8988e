#include "kiln/annotate.h"

#include "api/image_convert.h"
#include "vision/draw.h"

namespace kiln {

void draw_prediction(Image& image, const Prediction& prediction, const std::vector<std::string>& names) {
  if (!api::check_image(image).ok()) return;
  std::vector<vision::Detection> dets;
  dets.reserve(prediction.boxes.size());
  for (const Detection& d : prediction.boxes)
    dets.push_back({d.class_id, d.confidence, {d.box.x1, d.box.y1, d.box.x2, d.box.y2}});
  vision::Image canvas;  // borrows the pixels for the drawing, then gives them back
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.pixels = std::move(image.pixels);
  vision::draw_detections(canvas, dets, names);
  image.pixels = std::move(canvas.pixels);
}

}  // namespace kiln
