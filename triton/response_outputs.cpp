#include "response_outputs.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

#include "tensor_names.h"
#include "triton_status.h"

namespace kiln::triton {

namespace {

// Items per image: detections, rotated boxes or top-5 classes, by task.
size_t item_count(const Prediction& p, const std::string& task) {
  if (task == "obb") return p.obb.size();
  if (task == "classify") return p.top5.size();
  return p.boxes.size();
}

// Creates output `name` with `shape` in host memory, zero-filled, and lets `fill` write it.
template <typename T>
Status add_output(TRITONBACKEND_Response* response, const char* name, TRITONSERVER_DataType dtype,
                  const std::vector<int64_t>& shape, const std::function<void(T*)>& fill) {
  uint64_t elements = 1;
  for (int64_t d : shape) elements *= static_cast<uint64_t>(d);
  TRITONBACKEND_Output* output = nullptr;
  KILN_RETURN_IF_ERROR(from_triton(
      TRITONBACKEND_ResponseOutput(response, &output, name, dtype, shape.data(), static_cast<uint32_t>(shape.size()))));
  void* buffer = nullptr;
  TRITONSERVER_MemoryType type = TRITONSERVER_MEMORY_CPU;
  int64_t type_id = 0;
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_OutputBuffer(output, &buffer, elements * sizeof(T), &type, &type_id)));
  if (type == TRITONSERVER_MEMORY_GPU)
    return error(StatusCode::kInternal, name, ": Triton gave an output buffer in GPU memory");
  if (elements == 0) return Status::Ok();
  std::memset(buffer, 0, elements * sizeof(T));
  fill(static_cast<T*>(buffer));
  return Status::Ok();
}

class OutputWriter {
 public:
  OutputWriter(TRITONBACKEND_Response* response, std::span<const Prediction> preds, const std::string& task)
      : response_(response), preds_(preds), task_(task) {
    for (const Prediction& p : preds) rows_ = std::max(rows_, static_cast<int64_t>(item_count(p, task)));
  }

  Status write(const std::string& name) {
    const int64_t n = static_cast<int64_t>(preds_.size());
    if (name == kOutputCount)
      return add_output<int32_t>(response_, kOutputCount, TRITONSERVER_TYPE_INT32, {n, 1}, [&](int32_t* out) {
        for (int64_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>(item_count(preds_[i], task_));
      });
    if (name == kOutputScores)
      return per_item<float>(kOutputScores, TRITONSERVER_TYPE_FP32, {}, [&](const Prediction& p, size_t k, float* o) {
        *o = task_ == "obb" ? p.obb[k].confidence : task_ == "classify" ? p.top5[k].score : p.boxes[k].confidence;
      });
    if (name == kOutputClasses)
      return per_item<int32_t>(kOutputClasses, TRITONSERVER_TYPE_INT32, {},
                               [&](const Prediction& p, size_t k, int32_t* o) {
                                 *o = task_ == "obb"        ? p.obb[k].class_id
                                      : task_ == "classify" ? p.top5[k].class_id
                                                            : p.boxes[k].class_id;
                               });
    if (name == kOutputBoxes)
      return per_item<float>(kOutputBoxes, TRITONSERVER_TYPE_FP32, {4}, [&](const Prediction& p, size_t k, float* o) {
        if (task_ == "obb") {
          const RotatedBox& r = p.obb[k];
          o[0] = r.cx, o[1] = r.cy, o[2] = r.w, o[3] = r.h;
        } else {
          const Box& b = p.boxes[k].box;
          o[0] = b.x1, o[1] = b.y1, o[2] = b.x2, o[3] = b.y2;
        }
      });
    if (name == kOutputAngles)
      return per_item<float>(kOutputAngles, TRITONSERVER_TYPE_FP32, {},
                             [&](const Prediction& p, size_t k, float* o) { *o = p.obb[k].angle; });
    if (name == kOutputKeypoints) return keypoints();
    if (name == kOutputMasks) return masks();
    return error(StatusCode::kInvalidArgument, "unknown output '", name, "'");
  }

 private:
  // An output of shape [N, rows, item...], item k of image i written by `fill`.
  template <typename T>
  Status per_item(const char* name, TRITONSERVER_DataType dtype, std::vector<int64_t> item,
                  const std::function<void(const Prediction&, size_t, T*)>& fill) {
    int64_t per = 1;
    for (int64_t d : item) per *= d;
    std::vector<int64_t> shape = {static_cast<int64_t>(preds_.size()), rows_};
    shape.insert(shape.end(), item.begin(), item.end());
    return add_output<T>(response_, name, dtype, shape, [&](T* out) {
      for (size_t i = 0; i < preds_.size(); ++i)
        for (size_t k = 0; k < item_count(preds_[i], task_); ++k) fill(preds_[i], k, out + (i * rows_ + k) * per);
    });
  }

  Status keypoints() {
    int64_t points = 0;
    for (const Prediction& p : preds_)
      for (const Keypoints& k : p.keypoints) points = std::max(points, static_cast<int64_t>(k.points.size()));
    return per_item<float>(kOutputKeypoints, TRITONSERVER_TYPE_FP32, {points, 3},
                           [&](const Prediction& p, size_t k, float* o) {
                             if (k >= p.keypoints.size()) return;
                             for (const Keypoint& q : p.keypoints[k].points) *o++ = q.x, *o++ = q.y, *o++ = q.confidence;
                           });
  }

  // [N, rows, H, W] with H, W the largest mask's: images of different sizes are padded.
  Status masks() {
    int64_t h = 0, w = 0;
    for (const Prediction& p : preds_)
      for (const Mask& m : p.masks) h = std::max<int64_t>(h, m.height), w = std::max<int64_t>(w, m.width);
    return per_item<uint8_t>(kOutputMasks, TRITONSERVER_TYPE_UINT8, {h, w},
                             [&](const Prediction& p, size_t k, uint8_t* o) {
                               if (k >= p.masks.size()) return;
                               const Mask& m = p.masks[k];
                               for (int y = 0; y < m.height; ++y)
                                 std::memcpy(o + y * w, m.data.data() + static_cast<size_t>(y) * m.width, m.width);
                             });
  }

  TRITONBACKEND_Response* response_;
  std::span<const Prediction> preds_;
  const std::string& task_;
  int64_t rows_ = 0;
};

}  // namespace

Status write_outputs(TRITONBACKEND_Request* request, TRITONBACKEND_Response* response,
                     std::span<const Prediction> predictions, const std::string& task) {
  uint32_t count = 0;
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_RequestOutputCount(request, &count)));
  OutputWriter writer(response, predictions, task);
  for (uint32_t i = 0; i < count; ++i) {
    const char* name = nullptr;
    KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_RequestOutputName(request, i, &name)));
    KILN_RETURN_IF_ERROR(writer.write(name));
  }
  return Status::Ok();
}

}  // namespace kiln::triton
