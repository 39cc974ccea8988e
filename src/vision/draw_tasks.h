// Annotating segment, pose, obb and classify results (detect boxes: draw.h), with
// Ultralytics' plotting conventions: class-colored masks blended at alpha 0.5, the COCO
// 17-keypoint skeleton, rotated box outlines, the top-5 classes as text.
#pragma once

#include <string>
#include <vector>

#include "vision/classify.h"
#include "vision/draw.h"
#include "vision/obb.h"
#include "vision/pose.h"
#include "vision/segment.h"

namespace kiln::vision {

// A line `thickness` pixels wide (square brush) from (x0, y0) to (x1, y1).
void draw_line(Image& image, float x0, float y0, float x1, float y1, Bgr color, int thickness);
void fill_circle(Image& image, float cx, float cy, float radius, Bgr color);
// Blends `color` into the pixels where `mask` (same size as the image) is set.
void blend_mask(Image& image, const Mask& mask, Bgr color, float alpha);

// Masks (mapped from the letterboxed input to the image), then boxes and labels.
void draw_segments(Image& image, const std::vector<SegmentDetection>& detections,
                   const std::vector<std::string>& names, const DrawStyle& style = {});
// Boxes and labels, then limbs and keypoints whose confidence is >= 0.25. Skeleton lines
// only for 17-keypoint (COCO) models; other keypoint counts get points only.
void draw_poses(Image& image, const std::vector<PoseDetection>& detections, const std::vector<std::string>& names,
                const DrawStyle& style = {});
void draw_obbs(Image& image, const std::vector<ObbDetection>& detections, const std::vector<std::string>& names,
               const DrawStyle& style = {});
// "name 0.87" lines in the top-left corner, best first.
void draw_top_k(Image& image, const std::vector<ClassScore>& top, const std::vector<std::string>& names,
                const DrawStyle& style = {});

}  // namespace kiln::vision
