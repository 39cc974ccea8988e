// Calibration's GPU runner (engine/calibrate_cuda.h) against the CPU executor's: yolo11n at
// 640 on the asset images, every method. The GPU computes the same FP32 graph in another
// summation order, so values agree to rounding and ranges to within that rounding's reach
// on the histogram (below); two GPU builds must agree bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>

#include "cuda_test_util.h"
#include "engine/calibrate_cuda.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "quant/activation_histogram.h"
#include "quant/calibrate.h"
#include "quant/calibration_data.h"
#include "quant/quantize_graph.h"
#include "support/test_support.h"

namespace kiln::cuda::test {
namespace {

namespace fs = std::filesystem;

ir::Graph yolo11n() {
  auto g = onnx::import_model(::kiln::test::asset("models/yolo11n.onnx"));
  EXPECT_TRUE(g.ok()) << g.status().message();
  EXPECT_TRUE(passes::optimize(*g, {}).ok());
  return std::move(*g);
}

std::unique_ptr<quant::ActivationRunner> gpu_runner(const std::vector<std::string>& points) {
  auto r = ::kiln::engine::cuda_activation_runner(yolo11n(), points, Device::cuda(0));
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(*r) : nullptr;
}

// The histogram's bin width for a largest |x| of `max` (activation_histogram.h: the smallest
// power of two w with max < 2 * kBins * w).
double bin_width(float max) {
  int e = 0;
  std::frexp(static_cast<double>(max) / (2 * quant::AbsHistogram::kBins), &e);
  return std::ldexp(1.0, e);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(CudaCalibration, GpuValuesMatchTheCpuExecutor) {
  KILN_REQUIRE_GPU();
  KILN_REQUIRE_ASSETS();
  ASSERT_FALSE(::kiln::engine::calibration_gpu(Device::cuda(0)).empty());
  const ir::Graph g = yolo11n();
  const std::vector<std::string> points = quant::calibration_points(g);
  auto cpu = quant::cpu_activation_runner(g, points);
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  auto gpu = gpu_runner(points);
  ASSERT_TRUE(gpu);
  auto input = quant::calibration_input(::kiln::test::asset("images/bus.jpg"), 640, 640);
  ASSERT_TRUE(input.ok()) << input.status().message();
  auto want = (*cpu)->run(*input);
  auto got = gpu->run(*input);
  ASSERT_TRUE(want.ok() && got.ok());
  ASSERT_EQ(got->size(), points.size());
  double worst = 0;
  for (size_t k = 0; k < points.size(); ++k) {
    const auto& a = (*got)[k];
    const auto& b = (*want)[k];
    ASSERT_EQ(a.size(), b.size()) << points[k];
    ASSERT_FALSE(a.empty()) << points[k];
    float scale = 0, diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      scale = std::max(scale, std::fabs(b[i]));
      diff = std::max(diff, std::fabs(a[i] - b[i]));
    }
    // Relative to the activation's largest |x|: a layout or plan error is O(1).
    EXPECT_LE(diff, 1e-4f * scale) << points[k];
    worst = std::max(worst, static_cast<double>(diff / std::max(scale, 1e-30f)));
  }
  std::cout << "[gpu vs cpu] " << points.size() << " points, worst |gpu - cpu| / max|x| " << worst << "\n";
}

TEST(CudaCalibration, GpuRangesAreBitIdenticalRunToRunAndNearTheCpus) {
  KILN_REQUIRE_GPU();
  KILN_REQUIRE_ASSETS();
  const ir::Graph g = yolo11n();
  const std::vector<std::string> points = quant::calibration_points(g);
  ASSERT_GT(points.size(), 80u);
  auto files = quant::calibration_files(::kiln::test::asset("images").string(), 512);
  ASSERT_TRUE(files.ok()) << files.status().message();
  ASSERT_GE(files->size(), 5u);
  auto cpu_runner = quant::cpu_activation_runner(g, points);
  ASSERT_TRUE(cpu_runner.ok()) << cpu_runner.status().message();
  // Two runners built apart: the plan the GPU runs must not change from build to build.
  auto gpu_a = gpu_runner(points);
  auto gpu_b = gpu_runner(points);
  ASSERT_TRUE(gpu_a && gpu_b);

  auto minmax = *parse_calibration_method("minmax");
  auto t0 = std::chrono::steady_clock::now();
  auto cpu_max = quant::calibrate(g, points, **cpu_runner, *files, minmax);
  const double cpu_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  auto gpu_max = quant::calibrate(g, points, *gpu_a, *files, minmax);
  const double gpu_s = seconds_since(t0);
  ASSERT_TRUE(cpu_max.ok() && gpu_max.ok());
  std::cout << "[calibration, " << files->size() << " images at 640] cpu " << cpu_s << " s, gpu " << gpu_s << " s\n";

  for (const char* name : {"minmax", "entropy", "percentile=99.99", "mse"}) {
    const CalibrationMethod method = *parse_calibration_method(name);
    auto cpu = quant::calibrate(g, points, **cpu_runner, *files, method);
    auto a = quant::calibrate(g, points, *gpu_a, *files, method);
    auto b = quant::calibrate(g, points, *gpu_b, *files, method);
    ASSERT_TRUE(cpu.ok() && a.ok() && b.ok()) << name;
    // (a) bit-identical on one GPU: float == on every range and noise figure.
    EXPECT_EQ(a->ranges, b->ranges) << name;
    EXPECT_EQ(a->noise_to_signal, b->noise_to_signal) << name;
    // (c) every point ranged, on both.
    ASSERT_EQ(a->ranges.size(), points.size()) << name;
    ASSERT_EQ(cpu->ranges.size(), points.size()) << name;
    // (b) near the CPU's. minmax is a max over the same values rounded apart: relative 1e-4.
    // The histogram methods pick a bin: values that round across a bin edge move a count
    // to the next bin, which moves a pick by a bin or so. `bins` is in the width the method
    // searched (entropy merges the histogram down to at most kBins bins: twice the width).
    double worst_bins = 0;
    std::string worst_point;
    for (const std::string& p : points) {
      ASSERT_TRUE(a->ranges.count(p)) << name << ": " << p;
      const float want = cpu->ranges.at(p), got = a->ranges.at(p);
      if (method.kind == CalibrationMethod::Kind::kMinMax) {
        EXPECT_LE(std::fabs(got - want), 1e-4f * want) << name << ": " << p;
        continue;
      }
      const float max = cpu_max->ranges.at(p);
      const double width = bin_width(max) * (method.kind == CalibrationMethod::Kind::kEntropy ? 2 : 1);
      const double bins = std::fabs(static_cast<double>(got) - want) / width;
      EXPECT_LE(bins, 4.0) << name << ": " << p << " cpu " << want << " gpu " << got << " (bin " << width << ")";
      if (bins > worst_bins) worst_bins = bins, worst_point = p;
    }
    std::cout << "[" << name << "] worst gpu - cpu: " << worst_bins << " bins (" << worst_point << ")\n";
  }
}

}  // namespace
}  // namespace kiln::cuda::test
