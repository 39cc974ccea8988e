// Model::predict's pipeline: letterbox as Ultralytics does (square for static inputs,
// minimal stride padding for dynamic ones), batch, infer, decode per task.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "api/image_convert.h"
#include "api/loaded_model.h"
#include "vision/detect.h"
#include "vision/letterbox.h"

namespace kiln::api {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

Status check_predictable(const LoadedModel& m, const PredictOptions& o) {
  if (m.info.task.empty())
    return error(StatusCode::kUnsupported, m.name, ": no YOLO task in the model's metadata (use run() for raw outputs)");
  if (m.info.task != "detect")
    return error(StatusCode::kUnsupported, m.name, ": task ", m.info.task, " not supported by predict yet");
  if (m.end2end)
    return error(StatusCode::kUnsupported, m.name, ": end2end (NMS-free) exports not supported by predict yet");
  if (!(o.conf >= 0 && o.conf <= 1)) return error(StatusCode::kInvalidArgument, "conf must be in [0, 1], got ", o.conf);
  if (!(o.iou >= 0 && o.iou <= 1)) return error(StatusCode::kInvalidArgument, "iou must be in [0, 1], got ", o.iou);
  if (o.max_det < 1) return error(StatusCode::kInvalidArgument, "max_det must be at least 1, got ", o.max_det);
  return Status::Ok();
}

vision::Letterboxed letterbox_for(const LoadedModel& m, const Image& image) {
  vision::Image v = to_vision(image);
  return m.info.dynamic_input ? vision::letterbox_min_pad(v, m.info.imgsz_h, m.info.imgsz_w, m.info.stride)
                              : vision::letterbox(v, m.info.imgsz_h, m.info.imgsz_w);
}

std::vector<Detection> to_public(const std::vector<vision::Detection>& dets) {
  std::vector<Detection> out;
  out.reserve(dets.size());
  for (const auto& d : dets) out.push_back({d.class_id, d.confidence, {d.box[0], d.box[1], d.box[2], d.box[3]}});
  return out;
}

// One inference over images[first, first + count): count <= batch; the rest of the batch
// is zero padding whose outputs are ignored.
Status predict_chunk(LoadedModel& m, std::span<const Image> images, const vision::NmsOptions& nms,
                     std::vector<Prediction>& out) {
  const int batch = m.info.dynamic_input ? 1 : m.info.batch;
  std::vector<Prediction> preds(images.size());
  ir::Tensor input;
  for (size_t i = 0; i < images.size(); ++i) {
    auto t0 = Clock::now();
    vision::Letterboxed lb = letterbox_for(m, images[i]);
    const int h = lb.image.height, w = lb.image.width;
    if (i == 0) input = ir::Tensor(ir::DType::kFloat32, {batch, 3, h, w});
    std::vector<float> chw = vision::to_nchw_rgb(lb.image);
    std::memcpy(input.data<float>() + i * chw.size(), chw.data(), chw.size() * sizeof(float));
    preds[i].input_width = w;
    preds[i].input_height = h;
    preds[i].speed.preprocess_ms = ms_since(t0);
  }
  auto t1 = Clock::now();
  KILN_ASSIGN_OR_RETURN(std::vector<ir::Tensor> outputs, m.runner->run({input}));
  const double inference_ms = ms_since(t1) / static_cast<double>(images.size());

  const ir::Tensor& raw = outputs.at(0);
  if (raw.rank() != 3 || raw.dim(0) != batch || raw.dim(1) <= 4 || raw.dtype() != ir::DType::kFloat32)
    return error(StatusCode::kUnsupported, m.name, ": detect output ", ir::shape_to_string(raw.shape()), " is not [",
                 batch, ", 4+classes, anchors] float32");
  const int num_classes = static_cast<int>(raw.dim(1) - 4);
  const int num_anchors = static_cast<int>(raw.dim(2));
  const size_t per_image = static_cast<size_t>(raw.dim(1)) * num_anchors;
  for (size_t i = 0; i < images.size(); ++i) {
    auto t2 = Clock::now();
    std::span<const float> one = raw.values<float>().subspan(i * per_image, per_image);
    preds[i].boxes = to_public(vision::decode_detect(one, num_anchors, num_classes, nms, preds[i].input_height,
                                                     preds[i].input_width, images[i].height, images[i].width));
    preds[i].speed.inference_ms = inference_ms;
    preds[i].speed.postprocess_ms = ms_since(t2);
    out.push_back(std::move(preds[i]));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<Prediction>> predict_images(LoadedModel& m, std::span<const Image> images, const PredictOptions& o) {
  KILN_RETURN_IF_ERROR(check_predictable(m, o));
  for (size_t i = 0; i < images.size(); ++i) {
    Status st = check_image(images[i]);
    if (!st.ok()) return error(st.code(), "image ", i, ": ", st.message());
  }
  vision::NmsOptions nms;
  nms.conf = o.conf;
  nms.iou = o.iou;
  nms.max_det = o.max_det;
  nms.classes = o.classes;
  nms.agnostic = o.agnostic_nms;
  const size_t batch = m.info.dynamic_input ? 1 : static_cast<size_t>(m.info.batch);
  std::vector<Prediction> out;
  out.reserve(images.size());
  for (size_t first = 0; first < images.size(); first += batch)
    KILN_RETURN_IF_ERROR(predict_chunk(m, images.subspan(first, std::min(batch, images.size() - first)), nms, out));
  return out;
}

}  // namespace kiln::api
