#include "pipeline/stage.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "pipeline/device_crops.h"

namespace kiln::pipeline {

namespace {

// The stage model's input for one crop, as an API image.
Image fitted_image(const vision::Image& frame, const vision::CropPlacement& crop) {
  vision::Image fitted = vision::fit_crop(frame, crop);
  Image out;
  out.width = fitted.width, out.height = fitted.height, out.pixels = std::move(fitted.pixels);
  return out;
}

Box box_to_frame(const vision::CropPlacement& crop, const Box& b) {
  const vision::BoxXyxy f = vision::box_to_frame(crop, {b.x1, b.y1, b.x2, b.y2});
  return {f[0], f[1], f[2], f[3]};
}

}  // namespace

void embed_input(const vision::Image& fitted, float* nchw) {
  const size_t plane = static_cast<size_t>(fitted.width) * fitted.height;
  for (size_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c)  // BGR pixels -> RGB planes
      nchw[c * plane + i] = (static_cast<float>(fitted.pixels[3 * i + 2 - c]) / 255.f - kEmbedMean[c]) / kEmbedStd[c];
}

void l2_normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum == 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= inv;
}

Stage::Stage(engine::StageConfig config, Model model, std::vector<int> class_ids)
    : config_(std::move(config)), model_(std::move(model)), class_ids_(std::move(class_ids)) {
  const ModelInfo& info = model_.info();
  if (config_.role == engine::StageRole::kEmbed) {
    input_height_ = static_cast<int>(info.inputs.at(0).shape.at(2));
    input_width_ = static_cast<int>(info.inputs.at(0).shape.at(3));
  } else {
    input_height_ = info.imgsz_h, input_width_ = info.imgsz_w;
  }
}

bool Stage::applies_to(int class_id) const {
  return class_ids_.empty() || std::find(class_ids_.begin(), class_ids_.end(), class_id) != class_ids_.end();
}

vision::CropPlacement Stage::placement(int frame_width, int frame_height, const Box& box) const {
  const vision::CropRegion region =
      vision::crop_region({box.x1, box.y1, box.x2, box.y2}, frame_width, frame_height, 1 + 2 * config_.padding, 0);
  return vision::place_crop(region, config_.crop, input_width_, input_height_);
}

Result<std::vector<std::optional<StageOutput>>> Stage::run(const vision::Image& frame,
                                                           const std::vector<StageObject>& objects, int64_t frame_number,
                                                           EmbedCache& cache) {
  auto predict_crops = [&](const std::vector<vision::CropPlacement>& crops) {
    std::vector<Image> inputs;
    inputs.reserve(crops.size());
    for (const vision::CropPlacement& crop : crops) inputs.push_back(fitted_image(frame, crop));
    PredictOptions po;
    po.conf = config_.conf.value_or(po.conf);
    return model_.predict(inputs, po);
  };
  auto run_crops = [&](std::span<const vision::CropPlacement> crops) {
    const ModelInfo& info = model_.info();
    const size_t rows = info.inputs[0].shape[0] < 0 ? crops.size() : static_cast<size_t>(std::max(1, info.batch));
    const size_t per_crop = static_cast<size_t>(3) * input_width_ * input_height_;
    // A fixed batch is zero-padded; only the crops' rows are read.
    Tensor input{{static_cast<int64_t>(rows), 3, input_height_, input_width_}, std::vector<float>(rows * per_crop, 0.f)};
    for (size_t k = 0; k < crops.size(); ++k) embed_input(vision::fit_crop(frame, crops[k]), input.data.data() + k * per_crop);
    return model_.run({&input, 1});
  };
  return run(frame.width, frame.height, objects, frame_number, cache, predict_crops, run_crops);
}

Result<std::vector<std::optional<StageOutput>>> Stage::run(const Frame& frame, const std::vector<StageObject>& objects,
                                                           int64_t frame_number, EmbedCache& cache) {
  KILN_RETURN_IF_ERROR(check_device_frame(frame));
  auto shape = [&](size_t n) { return std::vector<int64_t>{static_cast<int64_t>(n), 3, input_height_, input_width_}; };
  auto predict_crops = [&](const std::vector<vision::CropPlacement>& crops) {
    PredictOptions po;
    po.conf = config_.conf.value_or(po.conf);
    return model_.predict_tensor(crops_input(frame, crops, shape(crops.size()), CropScaling::kUnit), po);
  };
  auto run_crops = [&](std::span<const vision::CropPlacement> crops) {
    return model_.run(crops_input(frame, crops, shape(crops.size()), CropScaling::kImagenet));
  };
  return run(frame.width, frame.height, objects, frame_number, cache, predict_crops, run_crops);
}

Result<std::vector<std::optional<StageOutput>>> Stage::run(int frame_width, int frame_height,
                                                           const std::vector<StageObject>& objects, int64_t frame_number,
                                                           EmbedCache& cache, const PredictCrops& predict_crops,
                                                           const RunCrops& run_crops) {
  const bool embeds = config_.role == engine::StageRole::kEmbed;
  std::vector<std::optional<StageOutput>> out(objects.size());
  std::vector<size_t> pending;  // objects whose crop runs this frame (not served from the embed cache)
  std::vector<vision::CropPlacement> crops;
  for (size_t i = 0; i < objects.size(); ++i) {
    const StageObject& o = objects[i];
    if (!applies_to(o.class_id)) continue;
    if (embeds && o.track_id >= 0) {
      auto cached = cache.find(o.track_id);
      if (cached != cache.end() && frame_number - cached->second.embedded_at < config_.every) {
        out[i] = cached->second;
        continue;
      }
    }
    vision::CropPlacement crop = placement(frame_width, frame_height, o.box);
    if (crop.region.empty()) continue;
    pending.push_back(i);
    crops.push_back(crop);
  }
  if (pending.empty()) return out;
  KILN_ASSIGN_OR_RETURN(std::vector<StageOutput> results, embeds ? embed(crops, frame_number, run_crops) : predict(crops, predict_crops));
  for (size_t k = 0; k < pending.size(); ++k) {
    if (embeds && objects[pending[k]].track_id >= 0) cache[objects[pending[k]].track_id] = results[k];
    out[pending[k]] = std::move(results[k]);
  }
  return out;
}

Result<std::vector<StageOutput>> Stage::predict(const std::vector<vision::CropPlacement>& crops,
                                                const PredictCrops& predict_crops) {
  KILN_ASSIGN_OR_RETURN(std::vector<Prediction> preds, predict_crops(crops));
  std::vector<StageOutput> out(crops.size());
  for (size_t k = 0; k < crops.size(); ++k) {
    Prediction& p = preds[k];
    for (Detection& d : p.boxes) d.box = box_to_frame(crops[k], d.box);
    for (Keypoints& kp : p.keypoints)
      for (Keypoint& pt : kp.points) {
        const vision::FramePoint f = vision::point_to_frame(crops[k], pt.x, pt.y);
        pt.x = f.x, pt.y = f.y;
      }
    out[k].prediction = std::move(p);
  }
  return out;
}

Result<std::vector<StageOutput>> Stage::embed(const std::vector<vision::CropPlacement>& crops, int64_t frame_number,
                                              const RunCrops& run_crops) {
  const size_t batch = static_cast<size_t>(std::max(1, model_.info().batch));
  std::vector<StageOutput> out;
  out.reserve(crops.size());
  for (size_t first = 0; first < crops.size(); first += batch) {
    const size_t n = std::min(batch, crops.size() - first);
    KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, run_crops(std::span(crops).subspan(first, n)));
    const Tensor& v = outputs.at(0);
    if (v.shape.size() != 2 || v.shape[0] < static_cast<int64_t>(n))
      return error(StatusCode::kInternal, "stage ", config_.name, ": embed output ", v.shape.size(), " dims, want [",
                   n, ", dim]");
    const size_t dim = static_cast<size_t>(v.shape[1]);
    for (size_t k = 0; k < n; ++k) {
      StageOutput o;
      o.embedding.assign(v.data.begin() + k * dim, v.data.begin() + (k + 1) * dim);
      l2_normalize(o.embedding);
      o.embedded_at = frame_number;
      out.push_back(std::move(o));
    }
  }
  return out;
}

}  // namespace kiln::pipeline
