// EXIF orientation (tag 0x0112) of a JPEG's APP1 segment, applied to decoded pixels as
// cv2.imread does (and hence Ultralytics): a photo taken with the camera turned comes out
// upright.
#pragma once

#include <cstdint>
#include <span>

#include "vision/image_io.h"

namespace kiln::vision {

// The orientation 1-8 recorded in an APP1 payload ("Exif\0\0" + TIFF), or 1 (as stored)
// when the payload is not EXIF, has no orientation tag, or is malformed. Never reads
// outside `app1`.
int exif_orientation(std::span<const uint8_t> app1);

// Turns `image` upright for EXIF orientation 2-8 (OpenCV's ExifTransform: flips for 2-4,
// a transpose then a flip for 5-8); 1 and unknown values leave it as it is.
void apply_exif_orientation(Image& image, int orientation);

}  // namespace kiln::vision
