// Moving pixels between the public kiln::Image / Frame and vision::Image (HWC BGR).
#pragma once

#include "kiln/frame.h"
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

// InvalidArgument naming the problem: an empty size, a null plane, a pitch shorter than a
// row, an NV12 frame of odd width or height.
Status check_frame(const Frame& frame);
// A host frame's pixels as BGR (NV12 converted by vision/nv12.h); the frame is checked.
vision::Image to_vision(const Frame& frame);
// A device frame's pixels as a BGR Image, converted on its GPU as vision/nv12.h converts
// (api/device_image.cpp); Unsupported in a kiln without CUDA.
Result<Image> device_frame_to_image(const Frame& frame);

}  // namespace kiln::api
