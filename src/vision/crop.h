// Crops of detected objects, for second-stage models (a pipeline's stages) and for saved
// crops: a box -> an integer region of the frame (grown, clamped), that region fitted into
// a stage model's input (stretched, or letterboxed as Ultralytics does), and the stage's
// coordinates mapped back to the frame. This is the geometry's one definition: a GPU
// kernel cropping many objects at once computes the same regions and mappings.
#pragma once

#include "kiln/options.h"
#include "vision/detect.h"
#include "vision/image_io.h"
#include "vision/pose.h"
#include "vision/nms.h"

namespace kiln::vision {

// Pixels [x1, x2) x [y1, y2) of a frame.
struct CropRegion {
  int x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  int width() const { return x2 - x1; }
  int height() const { return y2 - y1; }
  bool empty() const { return x2 <= x1 || y2 <= y1; }
};

// Ultralytics' save_one_box geometry: the box's width and height times `gain` plus `pad`
// pixels about its center, truncated to integers (torch's .long()) and clamped to the
// image. Saved crops use gain 1.02, pad 10; a stage's padding p is gain 1 + 2p, pad 0.
CropRegion crop_region(const BoxXyxy& box, int image_width, int image_height, double gain, double pad);

// Where a region of the frame lands in a stage input of input_width x input_height:
// input = (frame - region origin) * scale + pad. kResize stretches (scale per axis, no
// pad); kLetterbox keeps the aspect ratio and centers (the letterbox geometry
// Ultralytics' scale_boxes uses, detect.h).
struct CropPlacement {
  CropRegion region;
  CropFit fit = CropFit::kLetterbox;
  int input_width = 0, input_height = 0;
  float scale_x = 1, scale_y = 1;
  float pad_x = 0, pad_y = 0;
};
CropPlacement place_crop(const CropRegion& region, CropFit fit, int input_width, int input_height);

// The region's pixels copied out of `image`.
Image crop_image(const Image& image, const CropRegion& region);

// The stage model's input for one placement: the region of `frame` resized with
// cv2.INTER_LINEAR (kResize) or letterboxed into input_width x input_height.
Image fit_crop(const Image& frame, const CropPlacement& placement);

// Stage results in frame pixels: clipped to the crop as Ultralytics clips results to the
// image they were predicted on, then moved by the region's origin. kLetterbox undoes the
// letterbox as scale_boxes (boxes) and scale_coords (keypoints, unrounded pads) do;
// kResize divides by the stretch.
BoxXyxy box_to_frame(const CropPlacement& placement, const BoxXyxy& box);

struct FramePoint {
  float x = 0, y = 0;
};
FramePoint point_to_frame(const CropPlacement& placement, float x, float y);

}  // namespace kiln::vision
