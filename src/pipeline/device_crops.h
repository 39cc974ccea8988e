// A stage's crops of a frame in device memory as the stage model's input: a DeviceInput
// whose fill runs vision_cuda::fit_crops (one kernel for every crop of an inference) into
// the model's device input, so no crop or frame reaches the host. CUDA builds; in a
// CPU-only kiln no model takes device inputs, and a fill would be Unsupported.
#pragma once

#include <span>
#include <vector>

#include "kiln/frame.h"
#include "kiln/model.h"
#include "vision/crop.h"

namespace kiln::pipeline {

// x / 255 (YOLO stages) or then ImageNet's (x - kEmbedMean) / kEmbedStd (embed stages).
enum class CropScaling { kUnit, kImagenet };

// InvalidArgument for a frame that is not in device memory or lacks a plane.
Status check_device_frame(const Frame& frame);

// `crops` of `frame` (both outlive the input's use), fitted and scaled into `shape`
// ([crops, 3, H, W], H and W the crops' input size); ready on the frame's stream.
DeviceInput crops_input(const Frame& frame, std::span<const vision::CropPlacement> crops, std::vector<int64_t> shape,
                        CropScaling scaling);

}  // namespace kiln::pipeline
