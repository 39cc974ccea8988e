#include "quant/calibrate.h"

#include <algorithm>
#include <deque>
#include <future>
#include <unordered_map>

#include "backends/cpu/executor.h"
#include "quant/activation_histogram.h"
#include "quant/calibration_data.h"

namespace kiln::quant {

namespace fs = std::filesystem;

namespace {

constexpr size_t kImagesAhead = 4;  // calibration inputs being prepared at once

Result<std::pair<int64_t, int64_t>> input_size(const ir::Graph& graph) {
  const ir::Value* in = graph.inputs.size() == 1 ? graph.inputs[0] : nullptr;
  if (!in || !in->shape || in->shape->size() != 4 || !(*in->shape)[2].is_known() || !(*in->shape)[3].is_known())
    return error(StatusCode::kUnsupported, "calibration needs one image input of a known size [N,3,H,W]");
  return std::pair{(*in->shape)[2].value, (*in->shape)[3].value};
}

std::span<const float> float_values(const ir::Tensor& t) {
  if (t.dtype() != ir::DType::kFloat32) return {};
  return {t.data<float>(), static_cast<size_t>(t.numel())};
}

class CpuActivationRunner : public ActivationRunner {
 public:
  CpuActivationRunner(cpu::Executor executor, const ir::Value* input, const std::vector<ir::Value*>& points)
      : executor_(std::move(executor)), input_(input), kept_(points.size()), spans_(points.size()) {
    for (size_t k = 0; k < points.size(); ++k) index_[points[k]] = k;
  }

  Result<std::vector<std::span<const float>>> run(const ir::Tensor& input) override {
    for (auto& [value, k] : index_) spans_[k] = value == input_ ? float_values(input) : std::span<const float>();
    auto keep = [&](const ir::Value& v, const ir::Tensor& t) {
      auto it = index_.find(&v);
      if (it == index_.end()) return;
      const std::span<const float> values = float_values(t);
      std::vector<float>& kept = kept_[it->second];
      kept.assign(values.begin(), values.end());
      spans_[it->second] = kept;
    };
    KILN_RETURN_IF_ERROR(executor_.run({input}, keep).status());
    return spans_;
  }

 private:
  cpu::Executor executor_;
  const ir::Value* input_;
  std::unordered_map<const ir::Value*, size_t> index_;
  std::vector<std::vector<float>> kept_;  // copies: the executor frees values after their last use
  std::vector<std::span<const float>> spans_;
};

}  // namespace

Result<std::vector<ir::Value*>> find_points(const ir::Graph& graph, const std::vector<std::string>& points) {
  std::vector<ir::Value*> out;
  for (const std::string& name : points) {
    ir::Value* v = graph.find_value(name);
    if (!v || (!v->producer && (graph.inputs.empty() || v != graph.inputs[0])))
      return error(StatusCode::kInvalidArgument, "calibration point '", name, "' is not an activation of the graph");
    if (std::find(out.begin(), out.end(), v) != out.end())
      return error(StatusCode::kInvalidArgument, "calibration point '", name, "' is listed twice");
    out.push_back(v);
  }
  return out;
}

Result<std::unique_ptr<ActivationRunner>> cpu_activation_runner(const ir::Graph& graph,
                                                                const std::vector<std::string>& points) {
  KILN_ASSIGN_OR_RETURN(std::vector<ir::Value*> values, find_points(graph, points));
  KILN_ASSIGN_OR_RETURN(cpu::Executor executor, cpu::Executor::create(graph));
  const ir::Value* input = graph.inputs.empty() ? nullptr : graph.inputs[0];
  return std::unique_ptr<ActivationRunner>(new CpuActivationRunner(std::move(executor), input, values));
}

Result<Calibration> calibrate(const ir::Graph& graph, const std::vector<std::string>& points, ActivationRunner& runner,
                              std::span<const fs::path> files, const CalibrationMethod& method,
                              const std::function<void(const std::string&)>& progress) {
  KILN_ASSIGN_OR_RETURN(auto hw, input_size(graph));
  KILN_RETURN_IF_ERROR(find_points(graph, points).status());
  std::vector<AbsHistogram> histograms(points.size());
  auto load = [&](size_t i) { return calibration_input(files[i], hw.first, hw.second); };
  // The next images are decoded and letterboxed, each on a thread of its own, while the
  // runner works on this one: decoding a JPEG can take as long as a GPU run.
  std::deque<std::future<Result<ir::Tensor>>> next;
  size_t queued = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    for (; queued < files.size() && queued < i + kImagesAhead; ++queued)
      next.push_back(std::async(std::launch::async, load, queued));
    KILN_ASSIGN_OR_RETURN(ir::Tensor input, next.front().get());
    next.pop_front();
    auto values = runner.run(input);
    if (!values.ok()) return error(values.status().code(), files[i].string(), ": ", values.status().message());
    if (values->size() != points.size())
      return error(StatusCode::kInternal, "calibration runner gave ", values->size(), " activations for ", points.size(),
                   " points");
    const auto n = static_cast<int64_t>(points.size());
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = 0; k < n; ++k) histograms[k].add((*values)[k]);
    if (progress && ((i + 1) % 16 == 0 || i + 1 == files.size()))
      progress("calibrating " + std::to_string(i + 1) + "/" + std::to_string(files.size()));
  }
  Calibration out;
  for (size_t k = 0; k < points.size(); ++k) {
    const float amax = amax_for(histograms[k], method);
    out.ranges[points[k]] = amax;
    out.noise_to_signal[points[k]] = quantization_nsr(histograms[k], amax);
  }
  return out;
}

Result<Calibration> calibrate(const ir::Graph& graph, const std::vector<std::string>& points,
                              std::span<const fs::path> files, const CalibrationMethod& method,
                              const std::function<void(const std::string&)>& progress) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<ActivationRunner> runner, cpu_activation_runner(graph, points));
  return calibrate(graph, points, *runner, files, method, progress);
}

}  // namespace kiln::quant
