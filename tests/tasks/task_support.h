// Shared by the task tests: a model run end to end on the CPU backend (import ->
// optimize -> Executor), raw tensors written for and JSON read from
// tests/tools/vision_task_ref.py (Ultralytics' postprocessing in numpy + ONNX Runtime).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <span>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/cpu/executor.h"
#include "ir/model_metadata.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "support/test_support.h"
#include "vision/image_io.h"
#include "vision/letterbox.h"

namespace kiln::tasks_test {

namespace fs = std::filesystem;

struct CpuModel {
  std::unique_ptr<ir::Graph> graph;
  ir::ModelMetadata meta;
  std::unique_ptr<cpu::Executor> executor;
  int input_h = 0, input_w = 0;
};

// The static-shape exports used here: batch 1, fixed height and width.
inline Result<CpuModel> load_cpu_model(const fs::path& path) {
  CpuModel m;
  KILN_ASSIGN_OR_RETURN(ir::Graph graph, onnx::import_model(path));
  m.graph = std::make_unique<ir::Graph>(std::move(graph));
  KILN_ASSIGN_OR_RETURN(m.meta, ir::parse_model_metadata(m.graph->metadata));
  const ir::Shape& shape = *m.graph->inputs[0]->shape;
  m.input_h = static_cast<int>(shape[2].value);
  m.input_w = static_cast<int>(shape[3].value);
  KILN_RETURN_IF_ERROR(passes::optimize(*m.graph));
  KILN_ASSIGN_OR_RETURN(cpu::Executor exec, cpu::Executor::create(*m.graph));
  m.executor = std::make_unique<cpu::Executor>(std::move(exec));
  return m;
}

// Runs the model on an already preprocessed BGR image of the input size.
inline std::vector<ir::Tensor> run_image(const CpuModel& m, const vision::Image& input) {
  ir::Tensor t = ir::Tensor::from_vector<float>({1, 3, input.height, input.width}, vision::to_nchw_rgb(input));
  auto out = m.executor->run({t});
  EXPECT_TRUE(out.ok()) << out.status().to_string();
  return out.ok() ? std::move(*out) : std::vector<ir::Tensor>{};
}

inline fs::path ref_tool() {
  return fs::path(__FILE__).parent_path().parent_path() / "tools" / "vision_task_ref.py";
}

// Runs the reference tool with `args` and parses what it prints (kept in `out`).
inline std::optional<nlohmann::json> run_ref(const std::string& args, const fs::path& out) {
  const std::string cmd = "python3 '" + ref_tool().string() + "' " + args + " > '" + out.string() + "'";
  if (std::system(cmd.c_str()) != 0) return std::nullopt;
  std::ifstream in(out);
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

// Writes raw float32 values; returns the "path:1x2x3" argument the tool reads.
inline std::string write_raw(const fs::path& path, std::span<const float> values, const std::vector<int64_t>& shape) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
  std::string spec = path.string() + ":";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) spec += 'x';
    spec += std::to_string(shape[i]);
  }
  return spec;
}

inline std::string quote(const fs::path& p) {
  std::string s = "'";
  s += p.string();
  s += '\'';
  return s;
}

inline std::vector<fs::path> asset_images() {
  std::vector<fs::path> images;
  for (const auto& e : fs::directory_iterator(test::asset("images")))
    if (vision::has_image_extension(e.path())) images.push_back(e.path());
  std::sort(images.begin(), images.end());
  return images;
}

inline double max_corner_diff(const nlohmann::json& a, const nlohmann::json& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i].get<double>() - b[i].get<double>()));
  return d;
}

inline double iou(const nlohmann::json& a, const nlohmann::json& b) {
  const double w = std::max(0.0, std::min(a[2].get<double>(), b[2].get<double>()) - std::max(a[0].get<double>(), b[0].get<double>()));
  const double h = std::max(0.0, std::min(a[3].get<double>(), b[3].get<double>()) - std::max(a[1].get<double>(), b[1].get<double>()));
  const double inter = w * h;
  const double ua = (a[2].get<double>() - a[0].get<double>()) * (a[3].get<double>() - a[1].get<double>());
  const double ub = (b[2].get<double>() - b[0].get<double>()) * (b[3].get<double>() - b[1].get<double>());
  return inter / (ua + ub - inter);
}

// Pairs each reference detection (by descending confidence) with the unmatched one of
// the same class and highest IoU in `got`; -1 where there is none.
inline std::vector<int> match(const nlohmann::json& got, const nlohmann::json& ref) {
  std::vector<int> order(ref.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return ref[a]["confidence"].get<double>() > ref[b]["confidence"].get<double>();
  });
  std::vector<int> pair(ref.size(), -1);
  std::vector<char> used(got.size(), 0);
  for (int r : order) {
    double best = 0;
    for (size_t g = 0; g < got.size(); ++g) {
      if (used[g] || got[g]["class_id"] != ref[r]["class_id"]) continue;
      const double v = iou(got[g]["box_xyxy"], ref[r]["box_xyxy"]);
      if (pair[r] < 0 || v > best) pair[r] = static_cast<int>(g), best = v;
    }
    if (pair[r] >= 0) used[pair[r]] = 1;
  }
  return pair;
}

}  // namespace kiln::tasks_test
