// Annotating images: boxes with "name 0.87" labels, one color per class.
#pragma once

#include <string>
#include <vector>

#include "vision/detect.h"
#include "vision/image_io.h"

namespace kiln::vision {

struct Bgr {
  uint8_t b, g, r;
};

// Ultralytics' line_width, hide_labels and hide_conf.
struct DrawStyle {
  int line_width = 0;       // 0: from the image size, max(round((w + h) / 2 * 0.003), 2)
  bool labels = true;       // false: boxes only
  bool confidence = true;   // false: labels without the score
};

int line_thickness(const Image& image, const DrawStyle& style);
// "name 0.87", "name" (no confidence) or "" (no labels); ids past `names` as numbers.
std::string label_text(int class_id, float confidence, const std::vector<std::string>& names, const DrawStyle& style);

// Ultralytics' 20-color palette, cycled by class id.
Bgr class_color(int class_id);

void fill_rect(Image& image, int x1, int y1, int x2, int y2, Bgr color);
void draw_box(Image& image, const BoxXyxy& box, Bgr color, int thickness);
// Renders text with stb_easy_font; (x, y) is the top-left corner, `scale` its pixel size.
void draw_text(Image& image, int x, int y, const std::string& text, Bgr color, int scale);

// "person 0.87": the class name (or id past the names) and the confidence.
std::string detection_label(const Detection& d, const std::vector<std::string>& names);
// Draws every detection with its label ("person 0.87"); names by class id.
void draw_detections(Image& image, const std::vector<Detection>& detections, const std::vector<std::string>& names,
                     const DrawStyle& style = {});
// The same with the caller's label for each detection (kiln track's "id:3 person 0.87");
// an empty label draws the box only.
void draw_labeled_detections(Image& image, const std::vector<Detection>& detections,
                             const std::vector<std::string>& labels, const DrawStyle& style = {});

}  // namespace kiln::vision
