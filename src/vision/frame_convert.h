// Host frames with a pitch (packed BGR / RGB rows, or NV12's two planes) into the packed
// BGR images the rest of vision/ works on; NV12 through vision/nv12.h, the arithmetic the
// GPU letterbox kernel uses for device frames.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vision/image_io.h"

namespace kiln::vision {

// Rows of width * 3 bytes, `pitch` apart; `rgb` swaps R and B.
Image packed_to_bgr(const uint8_t* pixels, size_t pitch, int width, int height, bool rgb);

// NV12: width x height luma, then (width / 2) x (height / 2) interleaved U, V pairs.
Image nv12_to_bgr(const uint8_t* luma, size_t luma_pitch, const uint8_t* chroma, size_t chroma_pitch, int width,
                  int height);

}  // namespace kiln::vision
