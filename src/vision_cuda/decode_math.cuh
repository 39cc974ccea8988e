// The per-pair arithmetic of the CPU decoders for device code: box IoU as vision/nms.cpp,
// operation for operation in float32 so that, compiled without FMA contraction, the NMS
// decisions are the CPU's; ProbIoU is vision/probiou_math.h itself.
#pragma once

#include "vision/probiou_math.h"

namespace kiln::vision_cuda {

using vision::std_clamp;
using vision::std_max;
using vision::std_min;

__device__ inline float box_area(const float* b) { return (b[2] - b[0]) * (b[3] - b[1]); }

__device__ inline float box_iou(const float* a, const float* b) {
  const float w = std_max(0.f, std_min(a[2], b[2]) - std_max(a[0], b[0]));
  const float h = std_max(0.f, std_min(a[3], b[3]) - std_max(a[1], b[1]));
  const float inter = w * h;
  return inter / (box_area(a) + box_area(b) - inter);
}

struct RBox {
  float cx, cy, w, h, angle;
};

using Cov = vision::Covariance;
using vision::covariance;
using vision::probiou_with;

}  // namespace kiln::vision_cuda
