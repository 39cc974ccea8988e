#include "quant/calibrate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "backends/cpu/executor.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "quant/activation_histogram.h"
#include "quant/calibration_data.h"
#include "support/test_support.h"

namespace kiln::quant {
namespace {

namespace fs = std::filesystem;

// yolo11n-dynamic optimized at 1x3x96x96: small enough to run a few images in a second.
ir::Graph small_yolo() {
  auto g = onnx::import_model(test::asset("models/yolo11n-dynamic.onnx"));
  EXPECT_TRUE(g.ok()) << g.status().message();
  passes::OptimizeOptions o;
  const ir::Shape& s = *g->inputs[0]->shape;
  o.bind_dims = {{s[0].symbol, 1}, {s[2].symbol, 96}, {s[3].symbol, 96}};
  EXPECT_TRUE(passes::optimize(*g, o).ok());
  return std::move(*g);
}

// The data inputs of the convolutions, each once (what quantize_graph.h ranges).
std::vector<std::string> conv_inputs(const ir::Graph& g) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& n : g.nodes())
    if (n->op_type == "Conv" && seen.insert(n->inputs[0]->name).second) out.push_back(n->inputs[0]->name);
  return out;
}

TEST(Calibrate, SameDataTwiceGivesBitIdenticalRanges) {
  KILN_REQUIRE_ASSETS();
  const ir::Graph g = small_yolo();
  const std::vector<std::string> points = conv_inputs(g);
  ASSERT_GT(points.size(), 50u);
  auto files = calibration_files(test::asset("datasets/coco8/images/train").string(), 3);
  ASSERT_TRUE(files.ok());
  std::vector<std::string> lines;
  auto first = calibrate(g, points, *files, *parse_calibration_method("entropy"),
                         [&](const std::string& m) { lines.push_back(m); });
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto second = calibrate(g, points, *files, *parse_calibration_method("entropy"));
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(first->ranges.size(), points.size());
  EXPECT_EQ(first->ranges, second->ranges);  // float ==: bit for bit
  EXPECT_EQ(lines, std::vector<std::string>{"calibrating 3/3"});
  // The graph input (the first conv's) holds pixels in [0, 1]: minmax sees their maximum.
  auto minmax = calibrate(g, points, *files, *parse_calibration_method("minmax"));
  ASSERT_TRUE(minmax.ok());
  EXPECT_FLOAT_EQ(minmax->ranges.at(g.inputs[0]->name), 1.f);
  for (const auto& [name, amax] : first->ranges) {
    EXPECT_GT(amax, 0.f) << name;
    EXPECT_LE(amax, minmax->ranges.at(name) * 1.001f) << name;  // clips, never widens (by more than a bin)
  }
}

// The runner split keeps the CPU's calibration as it was: the executor's observer feeding
// each point's histogram as the value is computed, image after image, gives the same bits
// as the CPU runner's copies histogrammed in parallel after each image.
TEST(Calibrate, CpuRunnerGivesTheObserversRangesBitForBit) {
  KILN_REQUIRE_ASSETS();
  const ir::Graph g = small_yolo();
  const std::vector<std::string> points = conv_inputs(g);
  auto files = calibration_files(test::asset("datasets/coco8/images/train").string(), 3);
  ASSERT_TRUE(files.ok());
  std::map<std::string, AbsHistogram> observed;
  auto executor = cpu::Executor::create(g);
  ASSERT_TRUE(executor.ok());
  auto observe = [&](const ir::Value& v, const ir::Tensor& t) {
    if (std::find(points.begin(), points.end(), v.name) != points.end())
      observed[v.name].add(std::span<const float>(t.data<float>(), static_cast<size_t>(t.numel())));
  };
  for (const fs::path& f : *files) {
    auto input = calibration_input(f, 96, 96);
    ASSERT_TRUE(input.ok());
    observed[g.inputs[0]->name].add(std::span<const float>(input->data<float>(), static_cast<size_t>(input->numel())));
    ASSERT_TRUE(executor->run({*input}, observe).ok());
  }
  for (const char* name : {"minmax", "entropy", "percentile=99.9", "mse"}) {
    const CalibrationMethod method = *parse_calibration_method(name);
    auto runner = cpu_activation_runner(g, points);
    ASSERT_TRUE(runner.ok());
    auto c = calibrate(g, points, **runner, *files, method);
    ASSERT_TRUE(c.ok()) << c.status().message();
    ASSERT_EQ(c->ranges.size(), observed.size());
    for (const auto& [point, h] : observed) {
      const float amax = amax_for(h, method);
      EXPECT_EQ(c->ranges.at(point), amax) << name << ": " << point;
      EXPECT_EQ(c->noise_to_signal.at(point), quantization_nsr(h, amax)) << name << ": " << point;
    }
  }
}

TEST(Calibrate, AnUnknownPointIsAnError) {
  KILN_REQUIRE_ASSETS();
  const ir::Graph g = small_yolo();
  const std::vector<fs::path> none;
  auto r = calibrate(g, {"no_such_value"}, none, CalibrationMethod{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'no_such_value'"), std::string::npos);
  auto twice = calibrate(g, {g.inputs[0]->name, g.inputs[0]->name}, none, CalibrationMethod{});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("listed twice"), std::string::npos);
}

}  // namespace
}  // namespace kiln::quant
