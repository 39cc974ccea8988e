// Binary masks as COCO run-length encoding (pycocotools' mask.encode, then its compressed
// string form), the way COCO results and annotation files carry segmentations.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::vision {

// Run lengths in column-major (Fortran) order, alternating 0s and 1s and starting with
// the 0s (a first run of 0 when the top-left pixel is set).
std::vector<uint32_t> mask_runs(const uint8_t* mask, int width, int height);

// pycocotools' rleToString: each run as the difference to the run two before it (from the
// third run on), written 5 bits per character from '0' with a continuation bit.
std::string coco_rle_counts(const std::vector<uint32_t>& runs);

}  // namespace kiln::vision
