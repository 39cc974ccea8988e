// YOLO post-processing on the GPU, the same decisions as the CPU vision:: decoders on the
// same raw outputs: candidates (best class > conf, class filter), sorted by score (ties:
// lower anchor first, as the CPU's stable sort), class-aware greedy NMS on an IoU bitmask
// (detect, segment, pose) or Fast-NMS with ProbIoU (obb), max_det; end2end (NMS-free)
// outputs filtered and passed through; classify top-5. Results are written by the kernels
// into mapped page-locked memory, only the kept items: read them after the stream syncs.
#pragma once

#include <cuda_runtime.h>

#include <memory>
#include <span>
#include <vector>

#include "kiln/status.h"
#include "vision/detect.h"
#include "vision_cuda/buffers.h"

namespace kiln::vision_cuda {

enum class Task { kDetect, kSegment, kPose, kObb };

// The raw output layout of one batch.
struct RawLayout {
  Task task = Task::kDetect;
  int batch = 1;
  bool end2end = false;  // [batch, anchors, channels] rows (x1 y1 x2 y2 score class extra...)
  int channels = 0;      // otherwise [batch, channels, anchors]: cx cy w h, classes, extra
  int anchors = 0;
  int classes = 0;
  int keypoints = 0, keypoint_dim = 0;  // pose
};

// How one image's input maps back to its original pixels (vision::letterbox_geometry for
// boxes, scale_keypoint's unrounded pads for keypoints).
struct ImageGeometry {
  int input_width = 0, input_height = 0, orig_width = 0, orig_height = 0;
  float gain = 1.f, pad_x = 0.f, pad_y = 0.f, kpt_pad_x = 0.f, kpt_pad_y = 0.f;
};
ImageGeometry image_geometry(int input_height, int input_width, int orig_height, int orig_width);

// One kept detection. `box` is in original pixels (obb: cx cy w h angle, center and size
// scaled); `input_box` in input (letterbox) pixels, for masks.
struct GpuDetection {
  int class_id = 0;
  float score = 0.f;
  float box[5] = {};
  float input_box[4] = {};
  int coef_offset = 0;  // segment: where its mask coefficients start in the image's raw output
};

struct GpuClassScore {
  int class_id = 0;
  float score = 0.f;
};

class Decoder {
 public:
  // Sized for `layout` (any later layout with as many or fewer images and anchors fits).
  static Result<std::unique_ptr<Decoder>> create(const RawLayout& layout, int max_det);

  // Enqueues the decode of `raw` (device, float32) on `stream`. `geometry` has one entry
  // per image of the batch (images past its size are not decoded).
  Status enqueue(const float* raw, const RawLayout& layout, const vision::NmsOptions& options,
                 std::span<const ImageGeometry> geometry, cudaStream_t stream);
  // Top-5 of each row of `scores` [images, classes] (ties: lower class first), as vision::top_k.
  Status enqueue_top5(const float* scores, int images, int classes, cudaStream_t stream);

  // After the stream synchronized:
  int count(int image) const;
  const GpuDetection* detections(int image) const;
  // Pose: keypoints * 3 values (x, y, confidence; 1 without a visibility channel) per detection.
  const float* keypoints(int image) const;
  const GpuClassScore* top5(int image) const;

  // Segment, after the detections are known (the stream synchronized): for image
  // `image`'s detections, mask = coefficients x prototypes, cropped, upsampled to the
  // input (vision::process_mask) and mapped to the original image (vision::mask_to_image).
  // `raw` as given to enqueue; `protos` that image's [channels, height, width]. Fills
  // `masks` (count * orig_h * orig_w bytes, 0/1) and `areas` (input-resolution pixel
  // counts) after a sync.
  Status enqueue_masks(const float* raw, const RawLayout& layout, int image, const float* protos, int proto_channels,
                       int proto_height, int proto_width, const ImageGeometry& geometry, cudaStream_t stream);
  const uint8_t* masks() const { return masks_host_.as<uint8_t>(); }
  const int* mask_areas() const { return areas_.as<int>(); }

 private:
  Decoder() = default;
  int capacity_batch_ = 0, capacity_anchors_ = 0, max_det_ = 0, kpt_values_ = 0;
  DeviceBuffer candidates_, sorted_, counts_, nms_mask_, suppressed_, logits_, masks_dev_;
  PinnedBuffer results_, class_filter_, areas_, masks_host_;
  size_t keypoint_offset_ = 0, top5_offset_ = 0;
};

}  // namespace kiln::vision_cuda
