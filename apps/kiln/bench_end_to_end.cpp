#include "bench_end_to_end.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "engine/build_options.h"
#include "kiln/model.h"
#include "val_run.h"
#if KILN_HAS_CUDA
#include "backends/cuda/engine.h"
#endif

namespace kiln::cli {

namespace {

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5))];
}

struct Row {
  std::string precision, device;
  std::string skipped;  // why the device does not run this precision
  size_t detections = 0;
  double accuracy = NAN;
  std::vector<double> total, pre, infer, post;
};

Device default_device() {
#if KILN_HAS_CUDA
  if (cuda::gpu_available()) return Device::cuda(0);
#endif
  return Device::cpu();
}

// The image sits in pinned host memory (PinnedImage), as a decoder writing there would
// leave it: the GPU path uploads it by DMA without a staging copy.
Status bench_precision(const EndToEndOptions& o, const ImageView& image, Precision precision, Row& row) {
  ModelOptions mo = o.model_options;
  mo.device = o.device.value_or(default_device());
  mo.precision = precision;
  row.precision = to_string(precision);
  row.device = mo.device->to_string();
  engine::BuildOptions bo;
  bo.device = *mo.device;
  bo.precision = *mo.precision;
  if (Status runs = engine::check_precision_for_device(bo); !runs.ok()) {
    row.skipped = runs.message();
    return Status::Ok();
  }
  if (!o.data.empty()) {
    KILN_ASSIGN_OR_RETURN(auto figures, val_figures(o.model, o.data, mo));
    for (const auto& [name, v] : figures)
      if (name == "mAP50-95" || name == "top1") row.accuracy = v;
  }
  KILN_ASSIGN_OR_RETURN(Model model, Model::load(o.model, mo));
  if (model.info().task.empty())
    return error(StatusCode::kUnsupported, "no YOLO task in the model's metadata or file name; give --task (detect, "
                                           "segment, pose, obb or classify)");
  row.device = model.info().device.to_string();
  for (int i = 0; i < o.warmup; ++i) KILN_RETURN_IF_ERROR(model.predict(image).status());
  for (int i = 0; i < o.iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    KILN_ASSIGN_OR_RETURN(Prediction p, model.predict(image));
    row.total.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    row.pre.push_back(p.speed.preprocess_ms);
    row.infer.push_back(p.speed.inference_ms);
    row.post.push_back(p.speed.postprocess_ms);
    row.detections = p.boxes.size() + p.obb.size() + p.top5.size();
  }
  return Status::Ok();
}

}  // namespace

int run_bench_end_to_end(const EndToEndOptions& o) {
  if (o.iters < 1) return report_error("bench", error(StatusCode::kInvalidArgument, "--iters must be >= 1"));
  auto image = load_image(o.source);
  if (!image.ok()) return report_error("bench", image.status());
  auto pinned = PinnedImage::allocate(image->width, image->height);
  if (!pinned.ok()) return report_error("bench", pinned.status());
  std::copy(image->pixels.begin(), image->pixels.end(), pinned->data());
  std::cout << "kiln bench end to end: " << o.model << " on " << o.source << " (" << image->width << "x"
            << image->height << ", " << (pinned->pinned() ? "pinned" : "pageable") << " host memory), " << o.iters
            << " timed predicts after " << o.warmup << " warm-up\n"
            << "| precision | device | detections | p50 ms | p95 ms | p99 ms | preprocess ms | inference ms | "
               "postprocess ms | "
            << (o.data.empty() ? "accuracy" : "mAP50-95 (cls: top1)") << " |\n|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Precision precision : o.precisions) {
    const std::string p(to_string(precision));
    Row row;
    Status st = bench_precision(o, pinned->view(), precision, row);
    if (!st.ok()) return report_error("bench", error(st.code(), o.model, " (", p, "): ", st.message()));
    char line[512];
    if (!row.skipped.empty()) {
      std::snprintf(line, sizeof line, "| %s | %s | skipped (%s) | | | | | | | |\n", p.c_str(), row.device.c_str(),
                    row.skipped.c_str());
    } else {
      char accuracy[32] = "";
      if (!std::isnan(row.accuracy)) std::snprintf(accuracy, sizeof accuracy, "%.4f", row.accuracy);
      std::snprintf(line, sizeof line, "| %s | %s | %zu | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %s |\n", p.c_str(),
                    row.device.c_str(), row.detections, percentile(row.total, 0.5), percentile(row.total, 0.95),
                    percentile(row.total, 0.99), percentile(row.pre, 0.5), percentile(row.infer, 0.5),
                    percentile(row.post, 0.5), accuracy);
    }
    std::cout << line << std::flush;
  }
  return kExitOk;
}

}  // namespace kiln::cli
