#include "vision/draw_tasks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace kiln::vision {

namespace {

// Ultralytics' pose palette (RGB) and the COCO skeleton (1-based keypoint ids) with its
// limb and keypoint color indices.
constexpr uint8_t kPosePalette[][3] = {{255, 128, 0},   {255, 153, 51},  {255, 178, 102}, {230, 230, 0},
                                       {255, 153, 255}, {153, 204, 255}, {255, 102, 255}, {255, 51, 255},
                                       {102, 178, 255}, {51, 153, 255},  {255, 153, 153}, {255, 102, 102},
                                       {255, 51, 51},   {153, 255, 153}, {102, 255, 102}, {51, 255, 51},
                                       {0, 255, 0},     {0, 0, 255},     {255, 0, 0},     {255, 255, 255}};
constexpr int kSkeleton[][2] = {{16, 14}, {14, 12}, {17, 15}, {15, 13}, {12, 13}, {6, 12}, {7, 13},
                                {6, 7},   {6, 8},   {7, 9},   {8, 10},  {9, 11},  {2, 3},  {1, 2},
                                {1, 3},   {2, 4},   {3, 5},   {4, 6},   {5, 7}};
constexpr int kLimbColor[] = {9, 9, 9, 9, 7, 7, 7, 0, 0, 0, 0, 0, 16, 16, 16, 16, 16, 16, 16};
constexpr int kKeypointColor[] = {16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9};
constexpr float kKeypointConf = 0.25f;

Bgr pose_color(int index) {
  const uint8_t* rgb = kPosePalette[index];
  return {rgb[2], rgb[1], rgb[0]};
}

}  // namespace

void draw_line(Image& image, float x0, float y0, float x1, float y1, Bgr color, int thickness) {
  const float len = std::hypot(x1 - x0, y1 - y0);
  const int steps = std::max(1, static_cast<int>(std::ceil(len)));
  const int lo = thickness / 2, hi = thickness - lo;
  for (int s = 0; s <= steps; ++s) {
    const float t = static_cast<float>(s) / steps;
    const int x = static_cast<int>(std::lround(x0 + (x1 - x0) * t));
    const int y = static_cast<int>(std::lround(y0 + (y1 - y0) * t));
    fill_rect(image, x - lo, y - lo, x + hi, y + hi, color);
  }
}

void fill_circle(Image& image, float cx, float cy, float radius, Bgr color) {
  const int y1 = std::max(0, static_cast<int>(std::floor(cy - radius)));
  const int y2 = std::min(image.height - 1, static_cast<int>(std::ceil(cy + radius)));
  const int x1 = std::max(0, static_cast<int>(std::floor(cx - radius)));
  const int x2 = std::min(image.width - 1, static_cast<int>(std::ceil(cx + radius)));
  for (int y = y1; y <= y2; ++y) {
    uint8_t* row = image.row(y);
    for (int x = x1; x <= x2; ++x) {
      if ((x - cx) * (x - cx) + (y - cy) * (y - cy) > radius * radius) continue;
      row[3 * x] = color.b, row[3 * x + 1] = color.g, row[3 * x + 2] = color.r;
    }
  }
}

void blend_mask(Image& image, const Mask& mask, Bgr color, float alpha) {
  if (mask.width != image.width || mask.height != image.height) return;
  const float c[3] = {static_cast<float>(color.b), static_cast<float>(color.g), static_cast<float>(color.r)};
  for (size_t i = 0; i < mask.pixels.size(); ++i) {
    if (!mask.pixels[i]) continue;
    uint8_t* p = image.pixels.data() + 3 * i;
    for (int k = 0; k < 3; ++k) p[k] = static_cast<uint8_t>(std::lround(p[k] * (1.f - alpha) + c[k] * alpha));
  }
}

void draw_segments(Image& image, const std::vector<SegmentDetection>& detections,
                   const std::vector<std::string>& names, const DrawStyle& style) {
  std::vector<Detection> boxes;
  for (const SegmentDetection& d : detections) {
    blend_mask(image, mask_to_image(d.mask, image.height, image.width), class_color(d.detection.class_id), 0.5f);
    boxes.push_back(d.detection);
  }
  draw_detections(image, boxes, names, style);
}

void draw_poses(Image& image, const std::vector<PoseDetection>& detections, const std::vector<std::string>& names,
                const DrawStyle& style) {
  std::vector<Detection> boxes;
  for (const PoseDetection& d : detections) boxes.push_back(d.detection);
  draw_detections(image, boxes, names, style);
  const int thickness = line_thickness(image, style);
  const float radius = static_cast<float>(std::max(thickness + 1, 3));
  for (const PoseDetection& d : detections) {
    const auto& k = d.keypoints;
    const bool coco = k.size() == std::size(kKeypointColor);
    if (coco) {
      for (size_t l = 0; l < std::size(kSkeleton); ++l) {
        const Keypoint& a = k[kSkeleton[l][0] - 1];
        const Keypoint& b = k[kSkeleton[l][1] - 1];
        if (a.confidence < kKeypointConf || b.confidence < kKeypointConf) continue;
        draw_line(image, a.x, a.y, b.x, b.y, pose_color(kLimbColor[l]), thickness);
      }
    }
    for (size_t i = 0; i < k.size(); ++i) {
      if (k[i].confidence < kKeypointConf) continue;
      fill_circle(image, k[i].x, k[i].y, radius, coco ? pose_color(kKeypointColor[i]) : class_color(static_cast<int>(i)));
    }
  }
}

void draw_obbs(Image& image, const std::vector<ObbDetection>& detections, const std::vector<std::string>& names,
               const DrawStyle& style) {
  const int thickness = line_thickness(image, style);
  const int scale = std::max(thickness / 2 + 1, 2);
  for (const ObbDetection& d : detections) {
    const Bgr color = class_color(d.class_id);
    const auto corners = rbox_corners(d.box);
    for (int i = 0; i < 4; ++i) {
      const auto& p = corners[i];
      const auto& q = corners[(i + 1) % 4];
      draw_line(image, p[0], p[1], q[0], q[1], color, thickness);
    }
    const std::string label = label_text(d.class_id, d.confidence, names, style);
    if (label.empty()) continue;
    // Label at the topmost corner.
    const auto top = *std::min_element(corners.begin(), corners.end(),
                                       [](const auto& a, const auto& b) { return a[1] < b[1]; });
    draw_text(image, static_cast<int>(top[0]), std::max(0, static_cast<int>(top[1]) - 9 * scale), label, color, scale);
  }
}

void draw_top_k(Image& image, const std::vector<ClassScore>& top, const std::vector<std::string>& names,
                const DrawStyle& style) {
  const int scale = std::max(line_thickness(image, style) / 2 + 1, 2);
  int y = 2 * scale;
  for (const ClassScore& c : top) {
    draw_text(image, 2 * scale, y, label_text(c.class_id, c.confidence, names, style), {255, 255, 255}, scale);
    y += 10 * scale;
  }
}

}  // namespace kiln::vision
