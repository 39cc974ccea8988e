// yolo11n through the INT8 path on the CPU: min-max ranges from two asset images (a test of
// the representation, not of calibration quality), insert_qdq, lower_qdq, then detections
// on bus.jpg against FP32, the time of both, and the lowered graph through the engine
// format's serialization and loaded-graph validation. With bus + horses the worst match is
// the half-visible person at the edge (FP32 conf 0.56): IoU 0.94, conf +0.02; plain min-max
// is sensitive to its images (bus + zidane: IoU 0.895 there), the QDQ graph run op by op
// gives the same detections as the lowered one.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <iostream>

#include "backends/cpu/executor.h"
#include "engine/graph_serialization.h"
#include "onnx/importer.h"
#include "passes/lower_qdq.h"
#include "passes/pipeline.h"
#include "quant/quantize_graph.h"
#include "support/test_support.h"
#include "vision/detect.h"
#include "vision/image_io.h"
#include "vision/letterbox.h"
#include "vision/nms.h"

namespace kiln::quant {
namespace {

constexpr int kSize = 640;

struct Input {
  ir::Tensor tensor;
  int orig_h = 0, orig_w = 0;
};

Input load_input(const std::string& image) {
  auto img = vision::decode_image(kiln::test::asset("images/" + image));
  EXPECT_TRUE(img.ok()) << img.status().message();
  if (!img.ok()) return {};
  const vision::Letterboxed lb = vision::letterbox(*img, kSize, kSize);
  return {ir::Tensor::from_vector<float>({1, 3, kSize, kSize}, vision::to_nchw_rgb(lb.image)), img->height, img->width};
}

ir::Graph optimized_yolo11n() {
  auto g = onnx::import_model(kiln::test::asset("models/yolo11n.onnx"));
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (!g.ok()) return {};
  EXPECT_TRUE(passes::optimize(*g, {}).ok());
  return std::move(*g);
}

// max |x| of every calibration point over the inputs: the points run as extra graph outputs.
ActivationRanges min_max_ranges(ir::Graph& g, const std::vector<Input>& inputs) {
  const size_t outputs = g.outputs.size();
  const std::vector<std::string> points = calibration_points(g);
  for (const std::string& p : points) g.outputs.push_back(g.find_value(p));
  ActivationRanges ranges;
  auto exec = cpu::Executor::create(g);
  EXPECT_TRUE(exec.ok()) << exec.status().message();
  for (const Input& in : inputs) {
    auto out = exec->run({in.tensor});
    EXPECT_TRUE(out.ok()) << out.status().message();
    if (!out.ok()) break;
    for (size_t i = 0; i < points.size(); ++i) {
      float& amax = ranges[points[i]];
      for (float v : (*out)[outputs + i].values<float>()) amax = std::max(amax, std::fabs(v));
    }
  }
  g.outputs.resize(outputs);
  return ranges;
}

struct Timed {
  std::vector<ir::Tensor> outputs;
  double ms = 0;
};

Timed run(const ir::Graph& g, const ir::Tensor& input) {
  auto exec = cpu::Executor::create(g);
  EXPECT_TRUE(exec.ok()) << exec.status().message();
  if (!exec.ok()) return {};
  const auto start = std::chrono::steady_clock::now();
  auto out = exec->run({input});
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(out.ok()) << out.status().message();
  return {out.ok() ? std::move(*out) : std::vector<ir::Tensor>{}, ms};
}

std::vector<vision::Detection> detect(const ir::Tensor& raw, const Input& in) {
  return vision::decode_detect(raw.values<float>(), static_cast<int>(raw.dim(2)), static_cast<int>(raw.dim(1)) - 4, {},
                               kSize, kSize, in.orig_h, in.orig_w);
}

TEST(Int8Yolo11n, DetectionsMatchFp32AndTheGraphRoundTrips) {
  KILN_REQUIRE_ASSETS();
  const Input bus = load_input("bus.jpg");
  ir::Graph fp32 = optimized_yolo11n();
  ir::Graph int8 = optimized_yolo11n();
  const ActivationRanges ranges = min_max_ranges(int8, {bus, load_input("horses.jpg")});
  auto choices = insert_qdq(int8, ranges, {});
  ASSERT_TRUE(choices.ok()) << choices.status().message();
  size_t int8_layers = 0;
  for (const LayerChoice& c : *choices) int8_layers += c.precision == LayerPrecision::kInt8;
  ASSERT_TRUE(passes::lower_qdq(int8).ok());
  size_t lowered = 0;
  for (const auto& n : int8.nodes()) lowered += n->op_type == "QConvInt8";
  EXPECT_EQ(lowered, int8_layers);
  EXPECT_GT(int8_layers, 60u);

  const Timed want = run(fp32, bus.tensor);
  const Timed got = run(int8, bus.tensor);
  ASSERT_EQ(got.outputs.size(), 1u);
  std::cout << "[int8] yolo11n 640 CPU, one image: fp32 " << want.ms << " ms, int8 (" << lowered << " QConvInt8) "
            << got.ms << " ms\n";
  const std::vector<vision::Detection> a = detect(want.outputs[0], bus);
  const std::vector<vision::Detection> b = detect(got.outputs[0], bus);
  ASSERT_EQ(b.size(), a.size());
  ASSERT_GE(a.size(), 4u);
  for (const vision::Detection& d : a) {
    double best = 0;
    const vision::Detection* match = nullptr;
    for (const vision::Detection& e : b) {
      const double iou = e.class_id == d.class_id ? vision::box_iou(d.box, e.box) : 0.0;
      if (iou > best) best = iou, match = &e;
    }
    ASSERT_NE(match, nullptr) << "class " << d.class_id << " conf " << d.confidence << " has no INT8 match";
    std::cout << "[int8]   class " << d.class_id << " conf " << d.confidence << " -> " << match->confidence << " IoU "
              << best << "\n";
    EXPECT_GE(best, 0.9);
    EXPECT_NEAR(match->confidence, d.confidence, 0.05);
  }

  // The lowered graph (QConvInt8 nodes, int8 weights) through the engine format.
  const engine::SerializedGraph bytes = engine::serialize_graph(int8);
  auto loaded = engine::deserialize_graph(bytes.graph, bytes.weights, "int8.kiln");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  Status valid = engine::validate_loaded_graph(*loaded, "int8.kiln");
  ASSERT_TRUE(valid.ok()) << valid.message();
  const Timed again = run(*loaded, bus.tensor);
  ASSERT_EQ(again.outputs.size(), 1u);
  EXPECT_EQ(kiln::test::compare(again.outputs[0], got.outputs[0]).max_abs, 0.0);
}

}  // namespace
}  // namespace kiln::quant
