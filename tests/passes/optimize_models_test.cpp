// optimize() on real exports: outputs numerically equal to the unoptimized graph on the
// same random input (CPU executor), fewer nodes, and the patterns the passes remove gone.
#include <gtest/gtest.h>

#include "backends/cpu/executor.h"
#include "onnx/importer.h"
#include "pass_test_util.h"
#include "passes/pipeline.h"
#include "passes/shape_inference.h"
#include "support/test_support.h"

namespace kiln::passes {
namespace {

ir::Graph import(const std::string& relative) {
  auto g = onnx::import_model(kiln::test::asset(relative));
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? std::move(g).value() : ir::Graph{};
}

// Mul(x, Sigmoid(x)) pairs: the SiLU pattern (OSNet's Mul(x, Sigmoid(gate(x))) is not one).
size_t count_silu_patterns(const ir::Graph& g) {
  size_t n = 0;
  for (const auto& node : g.nodes()) {
    if (node->op_type != "Mul" || node->inputs.size() != 2) continue;
    for (size_t i = 0; i < 2; ++i) {
      const ir::Value* s = node->inputs[i];
      n += s && s->producer && s->producer->op_type == "Sigmoid" && s->producer->input(0) == node->inputs[1 - i];
    }
  }
  return n;
}

size_t count_conv_bn_pairs(const ir::Graph& g) {
  size_t n = 0;
  for (const auto& node : g.nodes())
    n += node->op_type == "BatchNormalization" && node->input(0)->producer &&
         node->input(0)->producer->op_type == "Conv";
  return n;
}

struct ModelCase {
  const char* path;
  DimBindings bind;
};

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.path; }

class OptimizeModel : public ::testing::TestWithParam<ModelCase> {};

TEST_P(OptimizeModel, OutputsMatchUnoptimizedGraph) {
  KILN_REQUIRE_ASSETS();
  const ModelCase& mc = GetParam();
  ir::Graph reference = import(mc.path);
  ir::Graph optimized = import(mc.path);
  ASSERT_FALSE(reference.inputs.empty());
  OptimizeOptions options;
  options.bind_dims = mc.bind;
  Status st = optimize(optimized, options);
  ASSERT_TRUE(st.ok()) << st.message();

  EXPECT_LT(optimized.nodes().size(), reference.nodes().size());
  EXPECT_EQ(count_silu_patterns(optimized), 0u);
  if (count_silu_patterns(reference) > 0) {
    EXPECT_GT(test::count_ops(optimized, "SiLU"), 0u);
  }
  EXPECT_EQ(count_conv_bn_pairs(optimized), 0u);
  EXPECT_EQ(test::count_ops(optimized, "Identity"), 0u);
  for (const auto& v : optimized.values())
    EXPECT_TRUE(v->shape && ir::is_static(*v->shape)) << mc.path << ": " << v->name << " not static";

  const ir::Value* in = optimized.inputs[0];
  ir::Tensor x = test::random_tensor(ir::static_dims(*in->shape), 1234, 0.f, 1.f);
  auto ref_exec = cpu::Executor::create(reference);
  ASSERT_TRUE(ref_exec.ok()) << ref_exec.status().message();
  auto opt_exec = cpu::Executor::create(optimized);
  ASSERT_TRUE(opt_exec.ok()) << opt_exec.status().message();
  auto want = ref_exec->run({x});
  ASSERT_TRUE(want.ok()) << want.status().message();
  auto got = opt_exec->run({x});
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < got->size(); ++i) {
    auto d = kiln::test::compare((*got)[i], (*want)[i]);
    EXPECT_LE(d.max_abs, 1e-4 * d.range) << mc.path << " output " << i << " range " << d.range;
    EXPECT_GT(d.range, 0.0) << mc.path << " output " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, OptimizeModel,
    ::testing::Values(ModelCase{"models/yolo11n.onnx", {}}, ModelCase{"models/yolov8n-seg.onnx", {}},
                      ModelCase{"models/reid/osnet_x0_25_msmt17.onnx", {{"batch", 2}}},
                      // Small spatial size keeps the CPU run short; 640 is checked for shapes below.
                      ModelCase{"models/yolo11n-dynamic.onnx", {{"batch", 1}, {"height", 320}, {"width", 256}}}),
    [](const auto& info) {
      std::string n = std::filesystem::path(info.param.path).stem().string();
      for (char& c : n) if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

TEST(OptimizeDynamicModel, SymbolicBatchSurvivesBoundImageSize) {
  KILN_REQUIRE_ASSETS();
  ir::Graph g = import("models/yolo11n-dynamic.onnx");
  auto known = infer_shapes(g, {{"height", 640}, {"width", 640}});
  ASSERT_TRUE(known.ok()) << known.status().message();
  ASSERT_EQ(g.outputs.size(), 1u);
  ASSERT_TRUE(g.outputs[0]->shape);
  EXPECT_EQ(ir::shape_to_string(*g.outputs[0]->shape), "[batch,84,8400]");

  OptimizeOptions options;
  options.bind_dims = {{"height", 640}, {"width", 640}};
  ASSERT_TRUE(optimize(g, options).ok());
  EXPECT_EQ(ir::shape_to_string(*g.outputs[0]->shape), "[batch,84,8400]");
}

TEST(OptimizeDynamicModel, FullyBoundModelLosesItsShapeSubgraph) {
  KILN_REQUIRE_ASSETS();
  ir::Graph g = import("models/yolo11n-dynamic.onnx");
  size_t shapes_before = test::count_ops(g, "Shape");
  EXPECT_GT(shapes_before, 0u);
  OptimizeOptions options;
  options.bind_dims = {{"batch", 1}, {"height", 640}, {"width", 640}};
  Status st = optimize(g, options);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(ir::shape_to_string(*g.outputs[0]->shape), "[1,84,8400]");
  EXPECT_EQ(test::count_ops(g, "Shape"), 0u);
  for (const char* op : {"Gather", "Range", "ConstantOfShape", "Expand"}) EXPECT_EQ(test::count_ops(g, op), 0u) << op;
  for (const auto& v : g.values())
    EXPECT_TRUE(v->shape && ir::is_static(*v->shape)) << v->name << " not static";
}

}  // namespace
}  // namespace kiln::passes

namespace kiln::passes {
namespace {

// Every shipped export, INT8 ones included: shape inference succeeds and gives every
// value a shape with no unknown dim (symbols allowed only where the input has them).
TEST(ShapeInferenceOnModels, EveryValueOfEveryExportGetsAShape) {
  KILN_REQUIRE_ASSETS();
  for (const char* path : {"models/yolo11n.onnx", "models/yolov8n.onnx", "models/yolov8n-seg.onnx",
                           "models/yolo11n-pose.onnx", "models/yolo11n-obb-random.onnx",
                           "models/yolo11n-cls-random.onnx", "models/reid/osnet_x0_25_msmt17.onnx",
                           "models/int8/yolo11n_320_int8dyn.onnx", "models/int8/yolov8n-seg_320_int8dyn.onnx",
                           "models/int8/yolov8n_640_int8dyn.onnx",
                           "models/int8/yolo11n-pose_640_int8qdq_BROKEN-SCORES.onnx"}) {
    ir::Graph g = import(path);
    auto r = infer_shapes(g);
    ASSERT_TRUE(r.ok()) << path << ": " << r.status().message();
    for (const auto& v : g.values()) {
      ASSERT_TRUE(v->shape) << path << ": " << v->name << " has no shape";
      for (const ir::Dim& d : *v->shape)
        EXPECT_TRUE(d.is_known() || !d.symbol.empty()) << path << ": " << v->name << " " << ir::shape_to_string(*v->shape);
    }
  }
}

}  // namespace
}  // namespace kiln::passes
