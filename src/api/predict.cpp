// Model::predict's pipeline: letterbox as Ultralytics does (square for static inputs,
// minimal stride padding for dynamic ones; resize + center crop for classifiers), batch,
// infer, decode per task (vision/: detect, segment, pose, obb, classify).
#include <algorithm>
#include <chrono>
#include <cstring>

#include "api/end2end_decode.h"
#include "api/image_convert.h"
#include "api/loaded_model.h"
#include "vision/classify.h"
#include "vision/detect.h"
#include "vision/letterbox.h"
#include "vision/obb.h"
#include "vision/pose.h"
#include "vision/segment.h"

namespace kiln::api {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

Status check_predictable(const LoadedModel& m, const PredictOptions& o) {
  if (m.info.task.empty())
    return error(StatusCode::kUnsupported, m.name, ": no YOLO task in the model's metadata (use run() for raw outputs)");
  static const char* const kTasks[] = {"detect", "segment", "pose", "obb", "classify"};
  if (std::find(std::begin(kTasks), std::end(kTasks), m.info.task) == std::end(kTasks))
    return error(StatusCode::kUnsupported, m.name, ": task ", m.info.task, " not supported by predict");
  if (!(o.conf >= 0 && o.conf <= 1)) return error(StatusCode::kInvalidArgument, "conf must be in [0, 1], got ", o.conf);
  if (!(o.iou >= 0 && o.iou <= 1)) return error(StatusCode::kInvalidArgument, "iou must be in [0, 1], got ", o.iou);
  if (o.max_det < 1) return error(StatusCode::kInvalidArgument, "max_det must be at least 1, got ", o.max_det);
  return Status::Ok();
}

// The model input for one image: classifiers resize the short side and crop the center;
// detectors letterbox.
vision::Image preprocess(const LoadedModel& m, const ImageView& image) {
  vision::Image v = to_vision(image);
  if (m.info.task == "classify") return vision::classify_crop(v, m.info.imgsz_h);
  return m.info.dynamic_input ? vision::letterbox_min_pad(v, m.info.imgsz_h, m.info.imgsz_w, m.info.stride).image
                              : vision::letterbox(v, m.info.imgsz_h, m.info.imgsz_w).image;
}

Detection to_public(const vision::Detection& d) {
  return {d.class_id, d.confidence, {d.box[0], d.box[1], d.box[2], d.box[3]}};
}

Mask to_public(vision::Mask&& m) { return {m.width, m.height, std::move(m.pixels)}; }

// Image i's slice of an output whose first dim is the batch.
std::span<const float> slice(const ir::Tensor& t, size_t i) {
  const size_t per = static_cast<size_t>(t.numel() / t.dim(0));
  return t.values<float>().subspan(i * per, per);
}

Status bad_output(const LoadedModel& m, const ir::Tensor& t, const std::string& want) {
  return error(StatusCode::kUnsupported, m.name, ": ", m.info.task, " output ", ir::shape_to_string(t.shape()),
               " is not ", want);
}

// Decodes image i of the batch's outputs into `p`, in the coordinates of an original of
// oh x ow pixels that was letterboxed into p's input size.
Status decode(const LoadedModel& m, const std::vector<ir::Tensor>& outs, size_t i, int oh, int ow,
              const vision::NmsOptions& nms, Prediction& p) {
  const ir::Tensor& raw = outs.at(0);
  const std::string& task = m.info.task;
  const int ih = p.input_height, iw = p.input_width;
  if (task == "classify") {
    if (raw.rank() != 2) return bad_output(m, raw, "[batch, classes]");
    for (const vision::ClassScore& c : vision::top_k(slice(raw, i), 5)) p.top5.push_back({c.class_id, c.confidence});
    return Status::Ok();
  }
  if (m.end2end) {
    if (raw.rank() != 3 || raw.dim(2) < 6) return bad_output(m, raw, "[batch, detections, 6+extra]");
    const ir::Tensor* protos = task == "segment" && outs.size() > 1 ? &outs[1] : nullptr;
    if (task == "segment" && (!protos || protos->rank() != 4))
      return bad_output(m, raw, "followed by [batch, masks, h, w] prototypes");
    End2EndOutput e{slice(raw, i), static_cast<int>(raw.dim(1)), static_cast<int>(raw.dim(2)), {}};
    if (protos)
      e.protos = {slice(*protos, i), static_cast<int>(protos->dim(1)), static_cast<int>(protos->dim(2)),
                  static_cast<int>(protos->dim(3))};
    return decode_end2end(m, e, nms, ih, iw, oh, ow, p);
  }
  if (raw.rank() != 3 || raw.dim(1) <= 4) return bad_output(m, raw, "[batch, 4+classes+extra, anchors]");
  const int channels = static_cast<int>(raw.dim(1)), anchors = static_cast<int>(raw.dim(2));
  if (task == "detect") {
    for (const auto& d : vision::decode_detect(slice(raw, i), anchors, channels - 4, nms, ih, iw, oh, ow))
      p.boxes.push_back(to_public(d));
  } else if (task == "segment") {
    if (outs.size() < 2 || outs[1].rank() != 4) return bad_output(m, raw, "followed by [batch, masks, h, w] prototypes");
    const ir::Tensor& pt = outs[1];
    vision::Prototypes protos{slice(pt, i), static_cast<int>(pt.dim(1)), static_cast<int>(pt.dim(2)),
                              static_cast<int>(pt.dim(3))};
    const int classes = channels - 4 - protos.channels;
    if (classes < 1) return bad_output(m, raw, "[batch, 4+classes+" + std::to_string(protos.channels) + ", anchors]");
    for (auto& sd : vision::decode_segment(slice(raw, i), anchors, classes, protos, nms, ih, iw, oh, ow)) {
      p.boxes.push_back(to_public(sd.detection));
      p.masks.push_back(to_public(vision::mask_to_image(sd.mask, oh, ow)));
    }
  } else if (task == "pose") {
    if (m.info.kpt_shape.size() != 2) return error(StatusCode::kUnsupported, m.name, ": pose model without kpt_shape");
    const int nk = static_cast<int>(m.info.kpt_shape[0]), kd = static_cast<int>(m.info.kpt_shape[1]);
    const int classes = channels - 4 - nk * kd;
    if (classes < 1 || (kd != 2 && kd != 3)) return bad_output(m, raw, "[batch, 4+classes+keypoints, anchors]");
    for (auto& pd : vision::decode_pose(slice(raw, i), anchors, classes, nk, kd, nms, ih, iw, oh, ow)) {
      p.boxes.push_back(to_public(pd.detection));
      Keypoints k;
      for (const vision::Keypoint& v : pd.keypoints) k.points.push_back({v.x, v.y, v.confidence});
      p.keypoints.push_back(std::move(k));
    }
  } else {  // obb: cx, cy, w, h, classes, angle
    if (channels < 6) return bad_output(m, raw, "[batch, 4+classes+1, anchors]");
    for (const auto& o : vision::decode_obb(slice(raw, i), anchors, channels - 5, nms, ih, iw, oh, ow))
      p.obb.push_back({o.class_id, o.confidence, o.box.cx, o.box.cy, o.box.w, o.box.h, o.box.angle});
  }
  return Status::Ok();
}

// One inference over `input` (preds.size() images, the rest of its batch zero padding whose
// outputs are ignored); image i decoded for an original of sizes[i] = {height, width}.
Status infer_and_decode(LoadedModel& m, const ir::Tensor& input, std::span<const std::pair<int, int>> sizes,
                        const vision::NmsOptions& nms, std::vector<Prediction>& preds, std::vector<Prediction>& out) {
  const int64_t batch = input.dim(0);
  auto t1 = Clock::now();
  KILN_ASSIGN_OR_RETURN(std::vector<ir::Tensor> outputs, m.runner->run({input}));
  const double inference_ms = ms_since(t1) / static_cast<double>(preds.size());
  for (const ir::Tensor& t : outputs)
    if (t.dtype() != ir::DType::kFloat32 || t.rank() < 2 || t.dim(0) != batch)
      return bad_output(m, t, "float32 with the batch (" + std::to_string(batch) + ") first");
  for (size_t i = 0; i < preds.size(); ++i) {
    auto t2 = Clock::now();
    KILN_RETURN_IF_ERROR(decode(m, outputs, i, sizes[i].first, sizes[i].second, nms, preds[i]));
    preds[i].speed.inference_ms = inference_ms;
    preds[i].speed.postprocess_ms = ms_since(t2);
    out.push_back(std::move(preds[i]));
  }
  return Status::Ok();
}

// The images of one inference: at most a batch.
int64_t chunk_batch(const LoadedModel& m, size_t images) {
  return m.info.dynamic_input ? 1 : m.flexible_batch ? static_cast<int64_t>(images) : m.info.batch;
}

Status predict_chunk(LoadedModel& m, std::span<const ImageView> images, const vision::NmsOptions& nms,
                     std::vector<Prediction>& out) {
  const int64_t batch = chunk_batch(m, images.size());
  std::vector<Prediction> preds(images.size());
  std::vector<std::pair<int, int>> sizes;
  ir::Tensor input;
  for (size_t i = 0; i < images.size(); ++i) {
    auto t0 = Clock::now();
    vision::Image in = preprocess(m, images[i]);
    if (i == 0) input = ir::Tensor(ir::DType::kFloat32, {batch, 3, in.height, in.width});
    std::vector<float> chw = vision::to_nchw_rgb(in);
    std::memcpy(input.data<float>() + i * chw.size(), chw.data(), chw.size() * sizeof(float));
    preds[i].input_width = in.width;
    preds[i].input_height = in.height;
    preds[i].speed.preprocess_ms = ms_since(t0);
    sizes.emplace_back(images[i].height, images[i].width);
  }
  return infer_and_decode(m, input, sizes, nms, preds, out);
}

// A preprocessed input must be [N, 3, H, W] at a size the model takes: its own for a static
// input; multiples of the stride within its bound for a dynamic one.
Status check_input_shape(const LoadedModel& m, const std::vector<int64_t>& dims) {
  const std::string shape = ir::shape_to_string(dims);
  if (dims.size() != 4 || dims[0] < 1 || dims[1] != 3 || dims[2] < 1 || dims[3] < 1)
    return error(StatusCode::kInvalidArgument, m.name, ": a preprocessed input must be [N, 3, H, W], got ", shape);
  const int64_t h = dims[2], w = dims[3], stride = m.info.stride;
  if (m.info.dynamic_input) {
    if (h % stride || w % stride || h > m.info.imgsz_h || w > m.info.imgsz_w)
      return error(StatusCode::kInvalidArgument, m.name, ": input ", shape, ": H and W must be multiples of ", stride,
                   " up to ", m.info.imgsz_h, "x", m.info.imgsz_w);
  } else if (h != m.info.imgsz_h || w != m.info.imgsz_w) {
    return error(StatusCode::kInvalidArgument, m.name, ": input ", shape, " does not match the model's ", m.info.imgsz_h,
                 "x", m.info.imgsz_w);
  }
  return Status::Ok();
}

Status check_input_tensor(const LoadedModel& m, const Tensor& t) {
  KILN_RETURN_IF_ERROR(check_input_shape(m, t.shape));
  if (static_cast<int64_t>(t.data.size()) != ir::shape_numel(t.shape))
    return error(StatusCode::kInvalidArgument, m.name, ": input of shape ", ir::shape_to_string(t.shape), " has ",
                 t.data.size(), " values");
  return Status::Ok();
}

}  // namespace

Result<DevicePredictor*> device_input_predictor(LoadedModel& m, const DeviceInput& input) {
  if (!input.fill) return error(StatusCode::kInvalidArgument, m.name, ": a device input needs a fill function");
  KILN_ASSIGN_OR_RETURN(DevicePredictor * device, m.runner->device_predictor());
  if (!device)
    return error(StatusCode::kInvalidArgument, m.name, ": a device input needs a model on a GPU, this one runs on ",
                 m.info.device.to_string(), m.info.note.empty() ? "" : " (" + m.info.note + ")");
  return device;
}

vision::NmsOptions nms_options(const PredictOptions& o) {
  vision::NmsOptions nms;
  nms.conf = o.conf;
  nms.iou = o.iou;
  nms.max_det = o.max_det;
  nms.classes = o.classes;
  nms.agnostic = o.agnostic_nms;
  return nms;
}

Result<std::vector<Prediction>> predict_images(LoadedModel& m, std::span<const ImageView> images, const PredictOptions& o) {
  KILN_RETURN_IF_ERROR(check_predictable(m, o));
  for (size_t i = 0; i < images.size(); ++i) {
    Status st = check_image(images[i]);
    if (!st.ok()) return error(st.code(), "image ", i, ": ", st.message());
  }
  KILN_ASSIGN_OR_RETURN(DevicePredictor * device, m.runner->device_predictor());
  if (device) return device->predict(m.info, m.name, m.end2end, images, o);
  const vision::NmsOptions nms = nms_options(o);
  const size_t batch = m.info.dynamic_input ? 1 : static_cast<size_t>(m.info.batch);
  std::vector<Prediction> out;
  out.reserve(images.size());
  for (size_t first = 0; first < images.size(); first += batch)
    KILN_RETURN_IF_ERROR(predict_chunk(m, images.subspan(first, std::min(batch, images.size() - first)), nms, out));
  return out;
}

Result<std::vector<Prediction>> predict_frames(LoadedModel& m, std::span<const Frame> frames, const PredictOptions& o) {
  KILN_RETURN_IF_ERROR(check_predictable(m, o));
  auto where = [](FrameMemory memory) { return memory == FrameMemory::kDevice ? "device" : "host"; };
  for (size_t i = 0; i < frames.size(); ++i) {
    Status st = check_frame(frames[i]);
    if (!st.ok()) return error(st.code(), "frame ", i, ": ", st.message());
    if (frames[i].memory != frames[0].memory)
      return error(StatusCode::kInvalidArgument, "frame ", i, " is in ", where(frames[i].memory), " memory but frame 0 in ",
                   where(frames[0].memory), " memory; one call takes frames of one kind");
  }
  if (frames.empty()) return std::vector<Prediction>{};
  KILN_ASSIGN_OR_RETURN(DevicePredictor * device, m.runner->device_predictor());
  if (frames[0].memory == FrameMemory::kDevice) {
    if (!device)
      return error(StatusCode::kInvalidArgument, m.name, ": frames in device memory need a model on a GPU, this one runs on ",
                   m.info.device.to_string(), m.info.note.empty() ? "" : " (" + m.info.note + ")");
    if (m.info.task == "classify")
      return error(StatusCode::kUnsupported, m.name, ": a classifier takes host frames (its crop kernel reads packed BGR)");
    return device->predict_frames(m.info, m.name, m.end2end, frames, o);
  }
  if (device) KILN_RETURN_IF_ERROR(device->check_memory(frames));
  auto t0 = Clock::now();
  std::vector<vision::Image> bgr;
  std::vector<ImageView> views;
  bgr.reserve(frames.size());
  for (const Frame& f : frames) {
    bgr.push_back(to_vision(f));
    views.push_back({bgr.back().width, bgr.back().height, bgr.back().pixels.data(), false});
  }
  const double convert_ms = ms_since(t0) / static_cast<double>(frames.size());
  KILN_ASSIGN_OR_RETURN(std::vector<Prediction> out, predict_images(m, views, o));
  for (Prediction& p : out) p.speed.preprocess_ms += convert_ms;
  return out;
}

Result<std::vector<Prediction>> predict_device_input(LoadedModel& m, const DeviceInput& input, const PredictOptions& o) {
  KILN_RETURN_IF_ERROR(check_predictable(m, o));
  KILN_RETURN_IF_ERROR(check_input_shape(m, input.shape));
  KILN_ASSIGN_OR_RETURN(DevicePredictor * device, device_input_predictor(m, input));
  return device->predict_input(m.info, m.name, m.end2end, input, o);
}

Result<std::vector<Prediction>> predict_tensor(LoadedModel& m, const Tensor& input, const PredictOptions& o) {
  KILN_RETURN_IF_ERROR(check_predictable(m, o));
  KILN_RETURN_IF_ERROR(check_input_tensor(m, input));
  const vision::NmsOptions nms = nms_options(o);
  const int64_t n = input.shape[0], h = input.shape[2], w = input.shape[3];
  const size_t per_image = static_cast<size_t>(3 * h * w);
  std::vector<Prediction> out;
  out.reserve(static_cast<size_t>(n));
  const int64_t most = m.info.dynamic_input ? 1 : m.info.batch;
  for (int64_t first = 0; first < n; first += most) {
    const size_t count = static_cast<size_t>(std::min(most, n - first));
    ir::Tensor chunk(ir::DType::kFloat32, {chunk_batch(m, count), 3, h, w});  // zero padded
    std::memcpy(chunk.data<float>(), input.data.data() + first * per_image, count * per_image * sizeof(float));
    std::vector<Prediction> preds(count);
    for (Prediction& p : preds) {
      p.input_width = static_cast<int>(w);
      p.input_height = static_cast<int>(h);
    }
    const std::vector<std::pair<int, int>> sizes(count, {static_cast<int>(h), static_cast<int>(w)});
    KILN_RETURN_IF_ERROR(infer_and_decode(m, chunk, sizes, nms, preds, out));
  }
  return out;
}

}  // namespace kiln::api
