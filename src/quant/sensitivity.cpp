#include "quant/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "backends/cpu/executor.h"
#include "eval/detect_metrics.h"
#include "eval/matching.h"
#include "eval/val_nms.h"
#include "passes/lower_qdq.h"
#include "quant/calibration_data.h"
#include "vision/detect.h"

namespace kiln::quant {

namespace fs = std::filesystem;

namespace {

struct Reference {
  std::vector<vision::BoxXyxy> boxes;
  std::vector<int> classes;
};

struct Head {
  int64_t channels = 0, anchors = 0;
};

Result<Head> head_of(const ir::Graph& graph, int num_classes) {
  const ir::Value* out = graph.outputs.empty() ? nullptr : graph.outputs[0];
  if (out && out->shape && out->shape->size() == 3 && (*out->shape)[1].is_known() && (*out->shape)[2].is_known() &&
      num_classes > 0 && (*out->shape)[1].value >= 4 + num_classes)
    return Head{(*out->shape)[1].value, (*out->shape)[2].value};
  return error(StatusCode::kUnsupported, "--int8-target-drop: output 0 is not a detection head [1, 4 + ", num_classes,
               " classes, anchors] (detect, segment and pose models only)");
}

// Noise-to-signal of per-output-channel symmetric INT8 weights (quantize_graph.h's scheme).
double weight_nsr(const ir::Tensor& w) {
  if (w.dtype() != ir::DType::kFloat32 || w.rank() < 1 || w.dim(0) == 0) return 0;
  const int64_t channels = w.dim(0), per = w.numel() / channels;
  const float* p = w.data<float>();
  double noise = 0, signal = 0;
  for (int64_t c = 0; c < channels; ++c) {
    float amax = 0;
    for (int64_t i = 0; i < per; ++i) amax = std::max(amax, std::fabs(p[c * per + i]));
    if (amax == 0) continue;
    const double scale = amax / 127.0;
    for (int64_t i = 0; i < per; ++i) {
      const double x = p[c * per + i];
      const double d = x - std::nearbyint(x / scale) * scale;
      noise += d * d, signal += x * x;
    }
  }
  return signal == 0 ? 0 : noise / signal;
}

class Evaluator {
 public:
  Evaluator(std::vector<ir::Tensor> inputs, Head head, int num_classes)
      : inputs_(std::move(inputs)), head_(head), num_classes_(num_classes) {}

  // FP32's detections on the held-back images become the reference.
  Status set_reference(const ir::Graph& fp32) {
    KILN_ASSIGN_OR_RETURN(auto outputs, run(fp32));
    vision::NmsOptions nms;
    for (const ir::Tensor& raw : outputs) {
      Reference r;
      for (const vision::Candidate& c : vision::select_candidates(span(raw), static_cast<int>(head_.anchors), num_classes_, nms))
        r.boxes.push_back(c.box), r.classes.push_back(c.class_id);
      references_.push_back(std::move(r));
    }
    return Status::Ok();
  }

  Result<double> map50_95(const ir::Graph& graph) const {
    KILN_ASSIGN_OR_RETURN(auto outputs, run(graph));
    eval::MetricsAccumulator acc;
    for (size_t i = 0; i < outputs.size(); ++i) {
      const auto preds = eval::multi_label_nms(span(outputs[i]), static_cast<int>(head_.anchors), num_classes_, {});
      std::vector<vision::BoxXyxy> boxes;
      std::vector<int> classes;
      std::vector<float> conf;
      for (const eval::BoxPrediction& p : preds) boxes.push_back(p.box), classes.push_back(p.class_id), conf.push_back(p.conf);
      const std::vector<float> iou = eval::box_iou_matrix(references_[i].boxes, boxes);
      acc.add(eval::match_image(classes, conf, references_[i].classes, iou));
    }
    return acc.report({}).all.map50_95;
  }

 private:
  std::span<const float> span(const ir::Tensor& t) const {
    return {t.data<float>(), static_cast<size_t>(head_.channels * head_.anchors)};
  }

  Result<std::vector<ir::Tensor>> run(const ir::Graph& graph) const {
    KILN_ASSIGN_OR_RETURN(cpu::Executor ex, cpu::Executor::create(graph));
    std::vector<ir::Tensor> first_outputs;
    for (const ir::Tensor& in : inputs_) {
      KILN_ASSIGN_OR_RETURN(auto out, ex.run({in}));
      first_outputs.push_back(std::move(out[0]));
    }
    return first_outputs;
  }

  std::vector<ir::Tensor> inputs_;
  Head head_;
  int num_classes_;
  std::vector<Reference> references_;
};

struct Ranked {
  std::string node;
  double nsr = 0;
};

// The layers insert_qdq would quantize, most sensitive first (graph order on ties).
std::vector<Ranked> rank_layers(const ir::Graph& graph, const std::vector<LayerChoice>& choices, const Calibration& c) {
  std::map<std::string, const ir::Node*> by_name;
  for (const auto& n : graph.nodes()) by_name[n->name] = n.get();
  std::vector<Ranked> out;
  for (const LayerChoice& choice : choices) {
    if (choice.precision != LayerPrecision::kInt8) continue;
    Ranked r{choice.node, 0};
    if (auto it = by_name.find(choice.node); it != by_name.end()) {
      const ir::Node& n = *it->second;
      if (!n.inputs.empty() && n.inputs[0])
        if (auto a = c.noise_to_signal.find(n.inputs[0]->name); a != c.noise_to_signal.end()) r.nsr += a->second;
      if (n.inputs.size() > 1 && n.inputs[1] && n.inputs[1]->initializer) r.nsr += weight_nsr(*n.inputs[1]->initializer);
    }
    out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(), [](const Ranked& a, const Ranked& b) { return a.nsr > b.nsr; });
  return out;
}

std::string format(const char* fmt, double a, double b = 0, double c = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, fmt, a, b, c);
  return buf;
}

}  // namespace

Result<SensitivityResult> analyze_sensitivity(const std::function<Result<ir::Graph>()>& fresh_graph,
                                              const Calibration& calibration, const QuantizeOptions& base,
                                              std::span<const fs::path> held_back, const SensitivityOptions& options,
                                              const std::function<void(const std::string&)>& progress) {
  auto say = [&](const std::string& m) { if (progress) progress(m); };
  KILN_ASSIGN_OR_RETURN(ir::Graph fp32, fresh_graph());
  KILN_ASSIGN_OR_RETURN(Head head, head_of(fp32, options.num_classes));
  const ir::Shape& in_shape = *fp32.inputs[0]->shape;
  std::vector<ir::Tensor> inputs;
  for (const fs::path& f : held_back) {
    KILN_ASSIGN_OR_RETURN(ir::Tensor t, calibration_input(f, in_shape[2].value, in_shape[3].value));
    inputs.push_back(std::move(t));
  }
  Evaluator evaluator(std::move(inputs), head, options.num_classes);
  KILN_RETURN_IF_ERROR(evaluator.set_reference(fp32));
  SensitivityResult result;
  KILN_ASSIGN_OR_RETURN(result.fp32_map, evaluator.map50_95(fp32));

  int evaluations = 0;
  std::vector<Ranked> ranked;
  // The drop with the `count` top-ranked layers kept float (the first call also ranks).
  auto drop_with = [&](size_t count) -> Result<double> {
    KILN_ASSIGN_OR_RETURN(ir::Graph g, fresh_graph());
    QuantizeOptions q = base;
    for (size_t i = 0; i < count; ++i) q.keep_float.push_back(ranked[i].node);
    KILN_ASSIGN_OR_RETURN(std::vector<LayerChoice> choices, insert_qdq(g, calibration.ranges, q));
    KILN_RETURN_IF_ERROR(passes::lower_qdq(g));  // scored as the engine will run: integer convs
    if (ranked.empty() && count == 0) ranked = rank_layers(fp32, choices, calibration);
    KILN_ASSIGN_OR_RETURN(double map, evaluator.map50_95(g));
    ++evaluations;
    say("sensitivity: " + std::to_string(count) + " layers float, mAP50-95 drop " + format("%.4f", result.fp32_map - map));
    return result.fp32_map - map;
  };
  KILN_ASSIGN_OR_RETURN(result.int8_drop, drop_with(0));
  size_t keep = 0;
  result.final_drop = result.int8_drop;
  if (result.int8_drop > options.target_drop && !ranked.empty()) {
    size_t lo = 0, hi = ranked.size();  // drop_with(lo) is over the target; all float is FP32
    double hi_drop = 0;
    while (hi - lo > 1) {
      const size_t mid = lo + (hi - lo) / 2;
      KILN_ASSIGN_OR_RETURN(double d, drop_with(mid));
      if (d <= options.target_drop) hi = mid, hi_drop = d;
      else lo = mid;
    }
    keep = hi;
    result.final_drop = hi_drop;
  }
  for (size_t i = 0; i < keep; ++i) {
    result.keep_float.push_back(ranked[i].node);
    result.reasons.push_back("kept float by sensitivity analysis (rank " + std::to_string(i + 1) + " of " +
                             std::to_string(ranked.size()) + ", quantization noise-to-signal " +
                             format("%.2g", ranked[i].nsr) + ")");
  }
  result.summary = std::to_string(held_back.size()) + " held-back images, mAP50-95 against FP32's detections: FP32 " +
                   format("%.4f", result.fp32_map) + ", all INT8 drop " + format("%.4f", result.int8_drop) + "; " +
                   std::to_string(keep) + " layers kept float -> drop " + format("%.4f", result.final_drop) +
                   " (target " + format("%g", options.target_drop) + ", " + std::to_string(evaluations) + " trials)";
  return result;
}

}  // namespace kiln::quant
