#include "validation/validate.h"

#include <algorithm>
#include <cmath>
#include <variant>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <filesystem>

#include "core/ordered_prefetch.h"
#include "eval/classify_dataset.h"
#include "eval/coco_predictions.h"
#include "eval/dataset.h"
#include "eval/detect_metrics.h"
#include "eval/keypoint_similarity.h"
#include "eval/rotated_boxes.h"
#include "eval/segment_masks.h"
#include "eval/val_letterbox.h"
#include "eval/val_nms.h"
#include "kiln/model.h"
#include "vision/classify.h"
#include "vision/letterbox.h"

namespace kiln::validation {

namespace {

namespace fs = std::filesystem;

// printf into a string.
void appendf(std::string& out, const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  const int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
  va_end(args);
  out.append(buf, static_cast<size_t>(std::min<int>(n, sizeof(buf) - 1)));
}

// The model through the kiln API, one image per inference: a dynamic-size ONNX model on
// the CPU keeps its symbolic height/width (each image gets its own shape); anything else
// runs at its fixed input size.
Result<Model> load_val_model(const ValOptions& o) {
  ModelOptions mo = o.model_options;
  mo.imgsz = o.imgsz_given ? o.imgsz : 0;
  mo.batch = 1;
  KILN_ASSIGN_OR_RETURN(Model model, Model::load(o.model, mo));
  const ModelInfo& info = model.info();
  const std::string task = info.task.empty() ? "detect" : info.task;
  if (task != "detect" && task != "segment" && task != "pose" && task != "obb" && task != "classify")
    return error(StatusCode::kUnsupported, o.model, ": task ", task, " not supported by val yet");
  return model;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The COCO results entries of one image's predictions (boxes in val's input pixels).
void add_coco_predictions(nlohmann::json& out, const fs::path& image_path, const vision::Image& image,
                          const eval::ValInput& in, const std::vector<eval::BoxPrediction>& preds,
                          const std::vector<int>& category_ids) {
  const auto id = eval::coco_image_id(image_path);
  auto rounded = [](float v, float scale) { return std::round(v * scale) / scale; };
  for (const eval::BoxPrediction& p : preds) {
    const std::array<float, 4> b = eval::coco_bbox(p.box, in, image.width, image.height);
    nlohmann::json entry;
    if (std::holds_alternative<int64_t>(id)) entry["image_id"] = std::get<int64_t>(id);
    else entry["image_id"] = std::get<std::string>(id);
    entry["category_id"] = category_ids.at(static_cast<size_t>(p.class_id));
    entry["bbox"] = {rounded(b[0], 1e3f), rounded(b[1], 1e3f), rounded(b[2], 1e3f), rounded(b[3], 1e3f)};
    entry["score"] = rounded(p.conf, 1e5f);
    out.push_back(std::move(entry));
  }
}

// Ultralytics' layout: box columns, then pose columns for pose models.
// `pose`: the second group of columns (pose or mask figures), titled `second`.
std::string metrics_table(const eval::MetricsReport& box, const eval::MetricsReport* pose, const char* second) {
  std::string t;
  appendf(t, "%22s%11s%11s%11s%11s%11s%11s", "Class", "Images", "Instances", "Box(P", "R", "mAP50", "mAP50-95)");
  if (pose) appendf(t, "%11s%11s%11s%11s", (std::string(second) + "(P").c_str(), "R", "mAP50", "mAP50-95)");
  t += "\n";
  auto row = [&](const eval::MetricsRow& r, const eval::MetricsRow* p) {
    appendf(t, "%22s%11d%11d%11.3g%11.3g%11.3g%11.3g", r.name.c_str(), r.images, r.instances, r.precision, r.recall,
            r.map50, r.map50_95);
    if (p) appendf(t, "%11.3g%11.3g%11.3g%11.3g", p->precision, p->recall, p->map50, p->map50_95);
    t += "\n";
  };
  row(box.all, pose ? &pose->all : nullptr);
  for (size_t i = 0; i < box.classes.size(); ++i) row(box.classes[i], pose ? &pose->classes[i] : nullptr);
  return t;
}

nlohmann::json row_json(const eval::MetricsRow& r) {
  nlohmann::json j = {{"name", r.name},           {"images", r.images},      {"instances", r.instances},
                      {"precision", r.precision}, {"recall", r.recall},      {"map50", r.map50},
                      {"map50_95", r.map50_95}};
  if (r.class_id >= 0) j["class"] = r.class_id;
  return j;
}

// One val image made ready for inference: decoded, its labels read, letterboxed into its
// input shape and laid out as the model's input.
struct PreparedImage {
  vision::Image image;
  std::vector<eval::LabelBox> labels;
  eval::ValInput in;
  Tensor tensor;
  double ms = 0;  // what preparing it took
};

Result<PreparedImage> prepare_image(const eval::DatasetSpec& data, size_t i, int imgsz, int in_h, int in_w) {
  const auto t0 = std::chrono::steady_clock::now();
  PreparedImage p;
  KILN_ASSIGN_OR_RETURN(p.image, vision::decode_image(data.images[i]));
  KILN_ASSIGN_OR_RETURN(p.labels, eval::load_labels(data.images[i], data));
  p.in = eval::val_letterbox(p.image, imgsz, in_h, in_w);
  p.tensor = Tensor{{1, 3, in_h, in_w}, vision::to_nchw_rgb(p.in.image)};
  p.ms = ms_since(t0);
  return p;
}

// Classify: --data is an ImageFolder-style directory; top-1 / top-5 accuracy with
// Ultralytics' classify_transforms (shortest side to imgsz, center crop).
Result<ValRun> val_classify(const ValOptions& o, Model& model) {
  KILN_ASSIGN_OR_RETURN(eval::ClassifyDataset data, eval::load_classify_dataset(o.data, o.split));
  const int size = model.info().imgsz_h;
  eval::TopKAccuracy acc;
  double t_inf = 0;
  const size_t threads = core::prefetch_threads(!model.info().device.is_cuda());
  core::OrderedPrefetch<Result<Tensor>> inputs(data.images.size(), threads, 2 * threads, [&](size_t i) -> Result<Tensor> {
    KILN_ASSIGN_OR_RETURN(vision::Image image, vision::decode_image(data.images[i]));
    return Tensor{{1, 3, size, size}, vision::to_nchw_rgb(vision::classify_crop(image, size))};
  });
  for (size_t i = 0; i < data.images.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(const Tensor tensor, std::move(*inputs.next()));
    auto t1 = std::chrono::steady_clock::now();
    KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, model.run(std::span<const Tensor>(&tensor, 1)));
    t_inf += ms_since(t1);
    if (outputs.size() != 1 || outputs[0].shape.size() != 2 || outputs[0].shape[0] != 1)
      return error(StatusCode::kUnsupported, o.model, ": classify output is not [1, classes]");
    std::vector<int> top;
    for (const auto& c : vision::top_k(outputs[0].data, 5)) top.push_back(c.class_id);
    acc.add(data.labels[i], top);
    if (o.on_image) o.on_image(i + 1, data.images.size());
  }
  const double n = static_cast<double>(acc.count());
  const ModelInfo& info = model.info();
  ValRun run;
  run.precision = to_string(info.precision);
  run.json = {{"model", o.model},       {"data", o.data},           {"split", o.split},
              {"task", "classify"},     {"imgsz", size},            {"device", info.device.to_string()},
              {"precision", to_string(info.precision)}, {"images", acc.count()}, {"top1", acc.top1()},
              {"top5", acc.top5()},     {"speed_ms", {{"inference", t_inf / n}}}};
  appendf(run.table, "%22s%11s%11s\n", "classes", "top1_acc", "top5_acc");
  appendf(run.table, "%22s%11.3g%11.3g\n", "all", acc.top1(), acc.top5());
  appendf(run.table, "Speed: %.1fms inference per image\n", t_inf / n);
  run.figures = {{"top1", acc.top1()}, {"top5", acc.top5()}};
  run.ms_per_image = t_inf / n;
  return run;
}

// Segment: mask IoU [labels x predictions] at the prototype resolution.
std::vector<float> mask_ious(std::span<const float> raw, int num_anchors, int num_classes, const Tensor& protos,
                             const std::vector<eval::BoxPrediction>& preds, const std::vector<eval::LabelBox>& labels,
                             const eval::ValInput& in) {
  const int channels = static_cast<int>(protos.shape[1]), mh = static_cast<int>(protos.shape[2]),
            mw = static_cast<int>(protos.shape[3]);
  const int in_h = mh * 4, in_w = mw * 4;
  std::vector<std::vector<uint8_t>> gt, pred;
  for (const auto& l : labels) {
    eval::Polygon poly;
    for (size_t k = 0; k + 1 < l.polygon.size(); k += 2) poly.push_back({l.polygon[k], l.polygon[k + 1]});
    poly = eval::resample_polygon(poly);
    for (auto& p : poly) p = {p[0] * in.resized_width + in.pad_left, p[1] * in.resized_height + in.pad_top};
    gt.push_back(eval::polygon_mask(poly, in_h, in_w, 4));
  }
  gt = eval::layer_overlapping(gt);
  std::vector<float> coefficients(channels);
  for (const auto& p : preds) {
    for (int c = 0; c < channels; ++c)
      coefficients[c] = raw[static_cast<size_t>(4 + num_classes + c) * num_anchors + p.anchor];
    // Ultralytics crops with rounded box corners below 50 masks (on the CPU), else compares floats.
    pred.push_back(eval::prediction_mask(protos.data, channels, mh, mw, coefficients, p.box, in_h, in_w,
                                         preds.size() < 50));
  }
  return eval::mask_iou_matrix(gt, pred);
}

// OBB: predictions and ground truth as rotated boxes in letterbox pixels (the label's
// quadrilateral through its minimum-area rectangle), matched by ProbIoU.
eval::ImageMatches match_obb(std::span<const float> raw, int num_anchors, int num_classes,
                             const eval::ValNmsOptions& nms, const std::vector<eval::LabelBox>& labels,
                             const eval::ValInput& in) {
  std::vector<vision::RotatedBox> gt, pred;
  std::vector<int> gt_classes, pred_classes;
  std::vector<float> conf;
  for (const auto& l : labels) {
    std::vector<std::array<float, 2>> points;
    for (size_t k = 0; k + 1 < l.polygon.size(); k += 2)
      points.push_back({l.polygon[k] * in.resized_width + in.pad_left, l.polygon[k + 1] * in.resized_height + in.pad_top});
    // A plain box row is an axis-aligned rectangle.
    gt.push_back(points.empty() ? vision::RotatedBox{l.cx * in.resized_width + in.pad_left,
                                                     l.cy * in.resized_height + in.pad_top, l.w * in.resized_width,
                                                     l.h * in.resized_height, 0.f}
                                : eval::min_area_rect(points));
    gt_classes.push_back(l.class_id);
  }
  for (const auto& p : eval::multi_label_nms_rotated(raw, num_anchors, num_classes, nms)) {
    pred.push_back(p.box);
    pred_classes.push_back(p.class_id);
    conf.push_back(p.conf);
  }
  return eval::match_image(pred_classes, conf, gt_classes, eval::probiou_matrix(gt, pred));
}

}  // namespace

Result<ValRun> validate(const ValOptions& o) {
  if (o.conf < 0 || o.conf > 1) return error(StatusCode::kInvalidArgument, "--conf must be in [0, 1], got ", o.conf);
  if (o.iou < 0 || o.iou > 1) return error(StatusCode::kInvalidArgument, "--iou must be in [0, 1], got ", o.iou);
  if (o.imgsz < 1) return error(StatusCode::kInvalidArgument, "--imgsz must be positive, got ", o.imgsz);
  if (o.batch < 1) return error(StatusCode::kInvalidArgument, "--batch must be positive, got ", o.batch);
  if (o.max_det < 1) return error(StatusCode::kInvalidArgument, "--max-det must be positive, got ", o.max_det);
  if (!fs::exists(o.model)) return error(StatusCode::kNotFound, o.model, ": no such file");
  if (!fs::exists(o.data)) return error(StatusCode::kNotFound, o.data, ": no such file or directory");
  KILN_ASSIGN_OR_RETURN(Model model, load_val_model(o));
  if (o.on_model) o.on_model(model.info());
  if (o.coco_predictions && (model.info().task == "obb" || model.info().task == "classify"))
    return error(StatusCode::kUnsupported, "COCO predictions are boxes of detect, segment and pose models; ", o.model,
                 " is ", model.info().task);
  if (model.info().task == "classify") return val_classify(o, model);
  KILN_ASSIGN_OR_RETURN(eval::DatasetSpec data, eval::load_dataset(o.data, o.split));
  const ModelInfo& info = model.info();
  const int stride = info.stride;
  if (!info.names.empty() && info.names.size() != data.names.size())
    return error(StatusCode::kInvalidArgument, o.model, " predicts ", info.names.size(), " classes, ", o.data,
                 " has ", data.names.size());

  // Input shapes: a static model gets its own size (square letterbox, as Ultralytics
  // validates exported models); a dynamic one gets Ultralytics' rectangular batch shapes
  // for --batch, each image then run on its own (images in a batch do not interact).
  const size_t n = data.images.size();
  std::vector<std::pair<int, int>> shapes(n, {info.imgsz_h, info.imgsz_w});
  const int imgsz = info.dynamic_input ? vision::round_up_to_stride(o.imgsz, stride)
                                       : std::max(info.imgsz_h, info.imgsz_w);
  if (info.dynamic_input) {
    // From the headers alone: the images are decoded once, for inference.
    std::vector<std::pair<int, int>> sizes(n);
    for (size_t i = 0; i < n; ++i) {
      KILN_ASSIGN_OR_RETURN(vision::ImageSize size, vision::read_image_size(data.images[i]));
      sizes[i] = {size.height, size.width};
    }
    shapes = eval::rect_shapes(sizes, o.batch, imgsz, stride);
  }

  const bool is_obb = info.task == "obb";
  const bool is_seg = info.task == "segment";
  eval::ValNmsOptions nms;
  nms.conf = is_obb && !o.conf_given ? 0.01f : o.conf;
  nms.iou = o.iou;
  nms.max_det = o.max_det;
  const bool is_pose = info.task == "pose";
  const int nkpt = is_pose ? data.kpt_count : 0;
  if (is_pose && (info.kpt_shape.size() != 2 || data.kpt_count != info.kpt_shape[0]))
    return error(StatusCode::kInvalidArgument, o.data, ": kpt_shape does not match the model's keypoints");
  const int pred_kdims = is_pose ? static_cast<int>(info.kpt_shape[1]) : 0;
  const std::vector<float> sigmas = eval::keypoint_sigmas(nkpt);
  eval::MetricsAccumulator metrics, pose_metrics, mask_metrics;
  const std::vector<int> category_ids = eval::coco_category_ids(data.names);
  nlohmann::json coco = nlohmann::json::array();
  double t_pre = 0, t_inf = 0, t_post = 0;
  // Images are decoded, labelled and letterboxed on the other cores, ahead of inference;
  // their preprocessing time is each image's own, as before.
  const size_t threads = core::prefetch_threads(!model.info().device.is_cuda());
  core::OrderedPrefetch<Result<PreparedImage>> prepared(n, threads, 2 * threads, [&](size_t i) {
    const auto [in_h, in_w] = shapes[i];
    return prepare_image(data, i, imgsz, in_h, in_w);
  });
  for (size_t i = 0; i < n; ++i) {
    const fs::path& path = data.images[i];
    KILN_ASSIGN_OR_RETURN(PreparedImage prepared_image, std::move(*prepared.next()));
    auto& [image, labels, in, tensor, prepare_ms] = prepared_image;
    t_pre += prepare_ms;

    auto t1 = std::chrono::steady_clock::now();
    KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, model.run(std::span<const Tensor>(&tensor, 1)));
    t_inf += ms_since(t1);

    auto t2 = std::chrono::steady_clock::now();
    const int num_classes = static_cast<int>(data.names.size());
    const std::vector<int64_t>& shape = outputs.empty() ? std::vector<int64_t>{} : outputs[0].shape;
    // Segment: the second output holds the prototypes [1, channels, mh, mw].
    const std::vector<int64_t> no_protos{};
    const std::vector<int64_t>& pshape = is_seg && outputs.size() == 2 ? outputs[1].shape : no_protos;
    const int mask_channels = pshape.size() == 4 ? static_cast<int>(pshape[1]) : 0;
    const int extra = is_obb ? 1 : is_seg ? mask_channels : nkpt * pred_kdims;
    if (outputs.size() != (is_seg ? 2u : 1u) || shape.size() != 3 || shape[0] != 1 ||
        shape[1] != 4 + num_classes + extra || (is_seg && (pshape.size() != 4 || pshape[2] * 4 != in.image.height)))
      return error(StatusCode::kUnsupported, o.model, ": expected ", is_seg ? "outputs [1, 4 + " : "one output [1, 4 + ",
                   num_classes, " classes",
                   is_pose ? " + keypoints" : is_obb ? " + angle" : is_seg ? " + mask coefficients" : "",
                   ", anchors]", is_seg ? " and [1, channels, h/4, w/4]" : "", ", got ", outputs.size(), " outputs");
    const int num_anchors = static_cast<int>(shape[2]);
    std::span<const float> raw = outputs[0].data;
    if (is_obb) {
      metrics.add(match_obb(raw, num_anchors, num_classes, nms, labels, in));
      t_post += ms_since(t2);
      if (o.on_image) o.on_image(i + 1, n);
      continue;
    }
    std::vector<eval::BoxPrediction> preds = eval::multi_label_nms(raw, num_anchors, num_classes, nms);
    if (o.coco_predictions) add_coco_predictions(coco, path, image, in, preds, category_ids);

    // Ground truth in the same letterboxed pixels as the predictions.
    std::vector<vision::BoxXyxy> gt_boxes, pred_boxes;
    std::vector<int> gt_classes, pred_classes;
    std::vector<float> conf, gt_kpts, pred_kpts;  // pose: x, y, visibility per keypoint; pred: as output
    auto to_input = [&](float x, float y) {
      return std::pair<float, float>{x * in.resized_width + in.pad_left, y * in.resized_height + in.pad_top};
    };
    for (const auto& l : labels) {
      const auto [cx, cy] = to_input(l.cx, l.cy);
      const float hw = l.w * in.resized_width / 2, hh = l.h * in.resized_height / 2;
      gt_boxes.push_back({cx - hw, cy - hh, cx + hw, cy + hh});
      gt_classes.push_back(l.class_id);
      for (int k = 0; k < nkpt; ++k) {
        const float* kp = l.keypoints.data() + static_cast<size_t>(k) * data.kpt_dims;
        const auto [x, y] = to_input(kp[0], kp[1]);
        // Two-value keypoints are labelled unless negative (Ultralytics' kpt_mask).
        const float v = data.kpt_dims == 3 ? kp[2] : (kp[0] < 0 || kp[1] < 0 ? 0.f : 1.f);
        gt_kpts.insert(gt_kpts.end(), {x, y, v});
      }
    }
    for (const auto& p : preds) {
      pred_boxes.push_back(p.box);
      pred_classes.push_back(p.class_id);
      conf.push_back(p.conf);
      for (int c = 0; c < nkpt * pred_kdims; ++c)
        pred_kpts.push_back(raw[static_cast<size_t>(4 + num_classes + c) * num_anchors + p.anchor]);
    }
    metrics.add(eval::match_image(pred_classes, conf, gt_classes, eval::box_iou_matrix(gt_boxes, pred_boxes)));
    if (is_seg)
      mask_metrics.add(eval::match_image(pred_classes, conf, gt_classes,
                                         mask_ious(raw, num_anchors, num_classes, outputs[1], preds, labels, in)));
    if (is_pose)
      pose_metrics.add(eval::match_image(pred_classes, conf, gt_classes,
                                         eval::oks_matrix(gt_kpts, gt_boxes, pred_kpts, nkpt, pred_kdims, sigmas)));
    t_post += ms_since(t2);
    if (o.on_image) o.on_image(i + 1, n);
  }

  const eval::MetricsReport report = metrics.report(data.names);
  const eval::MetricsReport pose_report = (is_seg ? mask_metrics : pose_metrics).report(data.names);
  const double count = static_cast<double>(n);
  ValRun run;
  run.coco = std::move(coco);
  run.precision = to_string(info.precision);
  run.json = {{"model", o.model},
              {"data", o.data},
              {"split", o.split},
              {"input", info.dynamic_input ? "rect" : "static"},
              {"device", info.device.to_string()},
              {"precision", to_string(info.precision)},
              {"imgsz", imgsz},
              {"batch", o.batch},
              {"conf", nms.conf},
              {"task", info.task.empty() ? "detect" : info.task},
              {"iou", o.iou},
              {"max_det", o.max_det},
              {"all", row_json(report.all)},
              {"speed_ms", {{"preprocess", t_pre / count}, {"inference", t_inf / count},
                            {"postprocess", t_post / count}}}};
  run.json["classes"] = nlohmann::json::array();
  for (const auto& r : report.classes) run.json["classes"].push_back(row_json(r));
  const char* second = is_seg ? "mask" : "pose";
  if (is_pose || is_seg) {
    run.json[second] = {{"all", row_json(pose_report.all)}, {"classes", nlohmann::json::array()}};
    for (const auto& r : pose_report.classes) run.json[second]["classes"].push_back(row_json(r));
  }
  run.table = metrics_table(report, is_pose || is_seg ? &pose_report : nullptr, is_seg ? "Mask" : "Pose");
  appendf(run.table, "Speed: %.1fms preprocess, %.1fms inference, %.1fms postprocess per image\n", t_pre / count,
          t_inf / count, t_post / count);
  run.figures = {{"P", report.all.precision}, {"R", report.all.recall}, {"mAP50", report.all.map50},
                 {"mAP50-95", report.all.map50_95}};
  if (is_pose || is_seg) run.figures.push_back({std::string(second) + " mAP50-95", pose_report.all.map50_95});
  run.ms_per_image = t_inf / count;
  return run;
}


// when none is FP32), and inference time per image.
std::string summary_table(const std::vector<ValRun>& runs, size_t base) {
  std::string t;
  appendf(t, "%10s", "precision");
  for (const auto& [name, v] : runs[0].figures) appendf(t, "%16s", name.c_str());
  appendf(t, "%14s\n", "ms/img");
  for (const ValRun& r : runs) {
    appendf(t, "%10s", r.precision.c_str());
    for (size_t k = 0; k < r.figures.size(); ++k) {
      const double v = r.figures[k].second, d = v - runs[base].figures[k].second;
      if (&r == &runs[base]) appendf(t, "%16.5f", v);
      else appendf(t, "%8.5f %+7.4f", v, d);
    }
    appendf(t, "%14.2f\n", r.ms_per_image);
  }
  return t;
}

}  // namespace kiln::validation
