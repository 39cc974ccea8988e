#include "vision/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "stb_easy_font.h"
#pragma GCC diagnostic pop

namespace kiln::vision {

namespace {

constexpr uint32_t kPalette[] = {0xFF3838, 0xFF9D97, 0xFF701F, 0xFFB21D, 0xCFD231, 0x48F90A, 0x92CC17,
                                 0x3DDB86, 0x1A9334, 0x00D4BB, 0x2C99A8, 0x00C2FF, 0x344593, 0x6473FF,
                                 0x0018EC, 0x8438FF, 0x520085, 0xCB38FF, 0xFF95C8, 0xFF37C7};

// stb_easy_font's vertex layout: x, y, z floats and an RGBA color.
struct EasyFontVertex {
  float x, y, z;
  unsigned char rgba[4];
};

}  // namespace

std::string detection_label(const Detection& d, const std::vector<std::string>& names) {
  return label_text(d.class_id, d.confidence, names, {});
}

int line_thickness(const Image& image, const DrawStyle& style) {
  if (style.line_width > 0) return style.line_width;
  return std::max(static_cast<int>(std::lround((image.width + image.height) / 2.0 * 0.003)), 2);
}

std::string label_text(int class_id, float confidence, const std::vector<std::string>& names, const DrawStyle& style) {
  if (!style.labels) return "";
  std::string name = class_id >= 0 && class_id < static_cast<int>(names.size()) ? names[class_id] : std::to_string(class_id);
  if (!style.confidence) return name;
  char conf[16];
  std::snprintf(conf, sizeof(conf), " %.2f", confidence);
  return name + conf;
}

Bgr class_color(int class_id) {
  uint32_t rgb = kPalette[static_cast<size_t>(std::abs(class_id)) % std::size(kPalette)];
  return {static_cast<uint8_t>(rgb & 0xFF), static_cast<uint8_t>((rgb >> 8) & 0xFF),
          static_cast<uint8_t>((rgb >> 16) & 0xFF)};
}

void fill_rect(Image& image, int x1, int y1, int x2, int y2, Bgr color) {
  x1 = std::max(x1, 0), y1 = std::max(y1, 0);
  x2 = std::min(x2, image.width), y2 = std::min(y2, image.height);
  for (int y = y1; y < y2; ++y) {
    uint8_t* p = image.row(y);
    for (int x = x1; x < x2; ++x) {
      p[3 * x] = color.b, p[3 * x + 1] = color.g, p[3 * x + 2] = color.r;
    }
  }
}

void draw_box(Image& image, const BoxXyxy& box, Bgr color, int thickness) {
  int x1 = static_cast<int>(std::lround(box[0])), y1 = static_cast<int>(std::lround(box[1]));
  int x2 = static_cast<int>(std::lround(box[2])), y2 = static_cast<int>(std::lround(box[3]));
  fill_rect(image, x1, y1, x2, y1 + thickness, color);
  fill_rect(image, x1, y2 - thickness, x2, y2, color);
  fill_rect(image, x1, y1, x1 + thickness, y2, color);
  fill_rect(image, x2 - thickness, y1, x2, y2, color);
}

void draw_text(Image& image, int x, int y, const std::string& text, Bgr color, int scale) {
  // stb_easy_font documents about 270 bytes of vertices per character.
  std::vector<EasyFontVertex> vertices(text.size() * 24 + 4);
  std::vector<char> chars(text.begin(), text.end());
  chars.push_back('\0');
  int quads = stb_easy_font_print(0, 0, chars.data(), nullptr, vertices.data(),
                                  static_cast<int>(vertices.size() * sizeof(EasyFontVertex)));
  for (int q = 0; q < quads; ++q) {
    const EasyFontVertex* v = vertices.data() + 4 * q;
    // Each quad is an axis-aligned rectangle: corners 0 and 2 span it.
    fill_rect(image, x + static_cast<int>(v[0].x * scale), y + static_cast<int>(v[0].y * scale),
              x + static_cast<int>(v[2].x * scale), y + static_cast<int>(v[2].y * scale), color);
  }
}

void draw_detections(Image& image, const std::vector<Detection>& detections, const std::vector<std::string>& names,
                     const DrawStyle& style) {
  std::vector<std::string> labels;
  for (const Detection& d : detections) labels.push_back(label_text(d.class_id, d.confidence, names, style));
  draw_labeled_detections(image, detections, labels, style);
}

void draw_labeled_detections(Image& image, const std::vector<Detection>& detections,
                             const std::vector<std::string>& labels, const DrawStyle& style) {
  const int thickness = line_thickness(image, style);
  const int scale = std::max(thickness / 2 + 1, 2);
  for (size_t i = 0; i < detections.size() && i < labels.size(); ++i) {
    const Detection& d = detections[i];
    Bgr color = class_color(d.class_id);
    draw_box(image, d.box, color, thickness);
    const std::string& label = labels[i];
    if (label.empty()) continue;
    int text_w = stb_easy_font_width(const_cast<char*>(label.c_str())) * scale;
    int text_h = 8 * scale;  // stb_easy_font glyphs are at most 7 units tall
    int x = static_cast<int>(d.box[0]);
    int y = static_cast<int>(d.box[1]) - text_h - 2 * scale;
    if (y < 0) y = static_cast<int>(d.box[1]);  // no room above: put the label inside
    fill_rect(image, x, y, x + text_w + 2 * scale, y + text_h + 2 * scale, color);
    draw_text(image, x + scale, y + scale, label, {255, 255, 255}, scale);
  }
}

}  // namespace kiln::vision
