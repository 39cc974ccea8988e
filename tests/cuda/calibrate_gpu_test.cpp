// Calibration's GPU runner (engine/calibrate_cuda.h) against the CPU executor's: yolo11n at
// 640 on the asset images, every method. The GPU computes the same FP32 graph in another
// summation order, so values agree to rounding and ranges to within that rounding's reach
// on the histogram; two GPU builds must agree bit for bit.
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

#define REQUIRE_YOLO11N()                                                                   \
  if (!fs::exists(::kiln::test::asset("models/yolo11n.onnx"))) GTEST_SKIP() << "models/yolo11n.onnx not present"

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

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(CudaCalibration, GpuValuesMatchTheCpuExecutor) {
  KILN_REQUIRE_GPU();
  KILN_REQUIRE_ASSETS();
  REQUIRE_YOLO11N();
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

// Every point's histogram over `files` as calibrate() builds it from `runner`'s values.
std::vector<quant::AbsHistogram> histograms(quant::ActivationRunner& runner, const std::vector<fs::path>& files,
                                            size_t points) {
  std::vector<quant::AbsHistogram> out(points);
  for (const fs::path& f : files) {
    auto input = quant::calibration_input(f, 640, 640);
    EXPECT_TRUE(input.ok()) << input.status().message();
    auto values = runner.run(*input);
    EXPECT_TRUE(values.ok()) << values.status().message();
    if (!values.ok()) break;
    for (size_t k = 0; k < points; ++k) out[k].add((*values)[k]);
  }
  return out;
}

// (a) two GPU calibrations bit-identical, (b) near the CPU's, (c) every point ranged.
// Tolerances: the GPU computes each FP32 conv in another summation order, so values differ
// from the CPU's by rounding (the test above: <= 1e-4 of an activation's largest |x|, and
// far less on yolo11n). minmax, a max over those values: relative 1e-4. The histogram
// methods pick a bin; a value that rounds across a bin edge moves one count to the
// neighbouring bin, which moves a pick by a bin or so: within 4 bins of the width the method
// searched (entropy merges the histogram to at most kBins bins, twice the width). Noise of
// 1e-5 of max|x| on every value of yolo11n (a CPU-only experiment) moved percentile 0 bins,
// mse 3 and entropy up to 15 (3 of 88 points): KL's minimum can be flat, near-equal
// candidates far apart. Where a pick is further than 4 bins, it must cost as little: its
// quantization noise on the CPU's histogram within 10% of the CPU pick's (2-5% in that
// experiment).
TEST(CudaCalibration, GpuRangesAreBitIdenticalRunToRunAndNearTheCpus) {
  KILN_REQUIRE_GPU();
  KILN_REQUIRE_ASSETS();
  REQUIRE_YOLO11N();
  const ir::Graph g = yolo11n();
  const std::vector<std::string> points = quant::calibration_points(g);
  ASSERT_GE(points.size(), 80u);  // every conv's input once
  auto files = quant::calibration_files(::kiln::test::asset("images").string(), 512);
  ASSERT_TRUE(files.ok()) << files.status().message();
  ASSERT_GE(files->size(), 5u);
  auto cpu_runner = quant::cpu_activation_runner(g, points);
  ASSERT_TRUE(cpu_runner.ok()) << cpu_runner.status().message();
  auto t0 = std::chrono::steady_clock::now();
  const std::vector<quant::AbsHistogram> cpu = histograms(**cpu_runner, *files, points.size());
  const double cpu_s = seconds_since(t0);
  // Two runners built apart: the plan the GPU runs must not change from build to build.
  auto gpu_a = gpu_runner(points);
  auto gpu_b = gpu_runner(points);
  ASSERT_TRUE(gpu_a && gpu_b);

  for (const char* name : {"minmax", "entropy", "percentile=99.99", "mse"}) {
    const CalibrationMethod method = *parse_calibration_method(name);
    t0 = std::chrono::steady_clock::now();
    auto a = quant::calibrate(g, points, *gpu_a, *files, method);
    const double gpu_s = seconds_since(t0);
    auto b = quant::calibrate(g, points, *gpu_b, *files, method);
    ASSERT_TRUE(a.ok() && b.ok()) << name;
    EXPECT_EQ(a->ranges, b->ranges) << name;  // float ==: bit for bit
    EXPECT_EQ(a->noise_to_signal, b->noise_to_signal) << name;
    ASSERT_EQ(a->ranges.size(), points.size()) << name;
    double worst_bins = 0, worst_cost = 1;
    int far = 0;
    for (size_t k = 0; k < points.size(); ++k) {
      const std::string& p = points[k];
      ASSERT_TRUE(a->ranges.count(p)) << name << ": " << p;
      const float want = quant::amax_for(cpu[k], method), got = a->ranges.at(p);
      if (method.kind == CalibrationMethod::Kind::kMinMax) {
        EXPECT_LE(std::fabs(got - want), 1e-4f * want) << name << ": " << p;
        continue;
      }
      const double width = cpu[k].bin_width() * (method.kind == CalibrationMethod::Kind::kEntropy ? 2 : 1);
      const double bins = std::fabs(static_cast<double>(got) - want) / width;
      worst_bins = std::max(worst_bins, bins);
      if (bins <= 4) continue;
      ++far;
      const double cost = quant::quantization_nsr(cpu[k], got) / quant::quantization_nsr(cpu[k], want);
      worst_cost = std::max(worst_cost, cost);
      EXPECT_LE(cost, 1.1) << name << ": " << p << " cpu " << want << " gpu " << got << ", " << bins << " bins of "
                           << width;
    }
    std::cout << "[" << name << "] gpu " << gpu_s << " s, cpu " << cpu_s << " s (" << files->size()
              << " images at 640); worst gpu - cpu " << worst_bins << " bins, " << far
              << " points beyond 4 bins, worst noise ratio there " << worst_cost << "\n";
  }
}

}  // namespace
}  // namespace kiln::cuda::test
