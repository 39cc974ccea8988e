// Moving pixels between the public kiln::Image and vision::Image (same layout: HWC BGR).
#pragma once

#include "kiln/image.h"
#include "vision/image_io.h"

namespace kiln::api {

vision::Image to_vision(const Image& image);
// A copy of the view's pixels, BGR (RGB views swapped).
vision::Image to_vision(const ImageView& image);
Image from_vision(vision::Image&& image);

// InvalidArgument unless the image is non-empty with width * height * 3 bytes.
Status check_image(const Image& image);
// InvalidArgument unless the view is non-empty with pixels.
Status check_image(const ImageView& image);

}  // namespace kiln::api
