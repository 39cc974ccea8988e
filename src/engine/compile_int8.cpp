#include "engine/compile_int8.h"

#include <algorithm>

#include "engine/cache.h"
#include "engine/calibrate_cuda.h"
#include "engine/calibration_cache.h"
#include "passes/lower_qdq.h"
#include "quant/calibrate.h"
#include "quant/calibration_data.h"
#include "quant/quantize_graph.h"
#include "quant/sensitivity.h"

namespace kiln::engine {

namespace fs = std::filesystem;

namespace {

// The held-back share of the calibration files for the sensitivity analysis: the last 10%,
// at least 2 images.
size_t held_back_count(size_t files) { return std::max<size_t>(2, files / 10); }

Result<quant::Calibration> cached_calibration(const ir::Graph& graph, const Int8Model& model,
                                              std::span<const fs::path> files, const BuildOptions& options,
                                              Int8Info& info, const std::function<void(const std::string&)>& say) {
  const ir::Shape& in = *graph.inputs[0]->shape;
  // A CUDA build gathers the statistics on its GPU where one is usable, else on the CPU.
  const std::string gpu = calibration_gpu(options.device);
  info.calibration_device = gpu.empty() ? "cpu" : options.device.to_string() + " (" + gpu + ")";
  KILN_ASSIGN_OR_RETURN(info.calibration_key,
                        calibration_key(model.bytes, files, options.int8.method, in[2].value, in[3].value, gpu));
  const fs::path dir = options.calibration_cache_dir.empty() ? default_cache_dir("", std::nullopt)
                                                             : options.calibration_cache_dir;
  if (auto cached = load_calibration(dir, info.calibration_key)) {
    info.calibration_reused = true;
    say("calibration reused from " + calibration_cache_file(dir, info.calibration_key).string());
    return *cached;
  }
  say("calibrating on " + std::to_string(files.size()) + " images on the " + (gpu.empty() ? "CPU" : "GPU") + " (" +
      options.int8.method.to_string() + ")");
  const std::vector<std::string> points = quant::calibration_points(graph);
  std::unique_ptr<quant::ActivationRunner> runner;
  if (gpu.empty()) {
    KILN_ASSIGN_OR_RETURN(runner, quant::cpu_activation_runner(graph, points));
  } else {
    KILN_ASSIGN_OR_RETURN(ir::Graph gpu_graph, model.graph_at_batch_1());
    KILN_ASSIGN_OR_RETURN(runner, cuda_activation_runner(std::move(gpu_graph), points, options.device));
  }
  KILN_ASSIGN_OR_RETURN(quant::Calibration c, quant::calibrate(graph, points, *runner, files, options.int8.method, say));
  KILN_RETURN_IF_ERROR(save_calibration(dir, info.calibration_key, c));
  return c;
}

}  // namespace

Result<Int8Quantizer> plan_int8(const ir::Graph& graph, const Int8Model& model, const BuildOptions& options,
                                BuildInfo& build, const std::function<void(const std::string&)>& say) {
  Int8Quantizer out;
  Int8Info info;
  info.target_drop = options.int8.target_drop;
  if (quant::has_qdq(graph)) {
    info.source = "QDQ model";
    info.layers = quant::describe_qdq(graph);
    build.int8 = std::move(info);
    out.qdq_model_ = true;
    return out;
  }
  if (options.int8.calib.empty())
    return error(StatusCode::kInvalidArgument, model.path.string(),
                 ": --precision int8 needs calibration data: pass --calib DIR|GLOB|DATA.yaml (or use a model with "
                 "QuantizeLinear/DequantizeLinear nodes)");
  info.source = "calibration";
  info.calibration_data = options.int8.calib;
  info.method = options.int8.method.to_string();
  KILN_ASSIGN_OR_RETURN(std::vector<fs::path> files,
                        quant::calibration_files(options.int8.calib, options.int8.calib_images));
  info.images = static_cast<int64_t>(files.size());
  std::span<const fs::path> calib_files = files, held_back;
  if (options.int8.target_drop) {
    if (files.size() < 3)
      return error(StatusCode::kInvalidArgument, options.int8.calib, ": --int8-target-drop needs at least 3 calibration ",
                   "images (2 are held back), found ", files.size());
    const size_t held = held_back_count(files.size());
    calib_files = calib_files.first(files.size() - held);
    held_back = std::span<const fs::path>(files).last(held);
  }
  KILN_ASSIGN_OR_RETURN(ir::Graph calibration_graph, model.graph_at_batch_1());
  KILN_ASSIGN_OR_RETURN(quant::Calibration calibration,
                        cached_calibration(calibration_graph, model, calib_files, options, info, say));
  out.options_.exclude = options.int8.exclude;
  if (options.int8.target_drop) {
    say("sensitivity analysis on " + std::to_string(held_back.size()) + " held-back images");
    quant::SensitivityOptions s{*options.int8.target_drop, model.num_classes};
    KILN_ASSIGN_OR_RETURN(quant::SensitivityResult r, quant::analyze_sensitivity(model.graph_at_batch_1, calibration,
                                                                                 out.options_, held_back, s, say));
    out.options_.keep_float = r.keep_float;
    out.keep_float_reasons_ = r.reasons;
    info.sensitivity = r.summary;
    say("sensitivity: " + r.summary);
  }
  out.ranges_ = std::move(calibration.ranges);
  build.int8 = std::move(info);
  return out;
}

Status Int8Quantizer::apply(ir::Graph& graph, std::vector<quant::LayerChoice>* layers) const {
  if (!qdq_model_) {
    KILN_ASSIGN_OR_RETURN(std::vector<quant::LayerChoice> chosen, quant::insert_qdq(graph, ranges_, options_));
    const std::vector<std::string>& kept = options_.keep_float;
    for (quant::LayerChoice& layer : chosen) {
      auto it = std::find(kept.begin(), kept.end(), layer.node);
      if (it != kept.end()) layer.reason = keep_float_reasons_[it - kept.begin()];
    }
    if (layers) *layers = std::move(chosen);
  }
  return passes::lower_qdq(graph);
}

}  // namespace kiln::engine
