// Binary masks to polygons the way Ultralytics writes segment labels (Masks.xyn): the outer
// border of each 8-connected piece traced like cv2.findContours(RETR_EXTERNAL,
// CHAIN_APPROX_SIMPLE), pieces joined into one polygon by merge_multi_segment.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::vision {

struct ContourPoint {
  int x = 0, y = 0;
};

// One contour per piece, in cv2's order (the piece found last in raster order first); each
// starts at the piece's top-left pixel, runs counter-clockwise on screen and keeps only the
// points where the direction changes. Unlike cv2, a piece lying inside another's hole is
// reported too (masks of one instance rarely have one).
std::vector<std::vector<ContourPoint>> outer_contours(const uint8_t* mask, int width, int height);

// Ultralytics' masks2segments(strategy="all"): the single contour, or all of them joined at
// their closest points; empty for an empty mask.
std::vector<ContourPoint> mask_polygon(const uint8_t* mask, int width, int height);

}  // namespace kiln::vision
