#include "quant/calibrate.h"

#include <unordered_map>

#include "backends/cpu/executor.h"
#include "quant/activation_histogram.h"
#include "quant/calibration_data.h"

namespace kiln::quant {

namespace fs = std::filesystem;

namespace {

Result<std::pair<int64_t, int64_t>> input_size(const ir::Graph& graph) {
  const ir::Value* in = graph.inputs.size() == 1 ? graph.inputs[0] : nullptr;
  if (!in || !in->shape || in->shape->size() != 4 || !(*in->shape)[2].is_known() || !(*in->shape)[3].is_known())
    return error(StatusCode::kUnsupported, "calibration needs one image input of a known size [N,3,H,W]");
  return std::pair{(*in->shape)[2].value, (*in->shape)[3].value};
}

}  // namespace

Result<Calibration> calibrate(const ir::Graph& graph, const std::vector<std::string>& points,
                              std::span<const fs::path> files, const CalibrationMethod& method,
                              const std::function<void(const std::string&)>& progress) {
  KILN_ASSIGN_OR_RETURN(auto hw, input_size(graph));
  std::map<std::string, AbsHistogram> histograms;
  std::unordered_map<const ir::Value*, AbsHistogram*> watched;
  for (const std::string& name : points) {
    const ir::Value* v = graph.find_value(name);
    if (!v || (!v->producer && v != graph.inputs[0]))
      return error(StatusCode::kInvalidArgument, "calibration point '", name, "' is not an activation of the graph");
    watched[v] = &histograms[name];
  }
  KILN_ASSIGN_OR_RETURN(cpu::Executor executor, cpu::Executor::create(graph));
  auto observe = [&](const ir::Value& v, const ir::Tensor& t) {
    auto it = watched.find(&v);
    if (it != watched.end() && t.dtype() == ir::DType::kFloat32)
      it->second->add(std::span<const float>(t.data<float>(), static_cast<size_t>(t.numel())));
  };
  const auto input_watch = watched.find(graph.inputs[0]);
  for (size_t i = 0; i < files.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(ir::Tensor input, calibration_input(files[i], hw.first, hw.second));
    if (input_watch != watched.end()) observe(*graph.inputs[0], input);
    auto run = executor.run({input}, observe);
    if (!run.ok()) return error(run.status().code(), files[i].string(), ": ", run.status().message());
    if (progress && ((i + 1) % 16 == 0 || i + 1 == files.size()))
      progress("calibrating " + std::to_string(i + 1) + "/" + std::to_string(files.size()));
  }
  Calibration out;
  for (const auto& [name, h] : histograms) {
    const float amax = amax_for(h, method);
    out.ranges[name] = amax;
    out.noise_to_signal[name] = quantization_nsr(h, amax);
  }
  return out;
}

}  // namespace kiln::quant
