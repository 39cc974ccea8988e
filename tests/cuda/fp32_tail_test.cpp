// The FP32 tail of FP16 engines (src/backends/cuda/fp32_tail.h): which nodes it takes, on a
// hand-built graph and on yolo11n's detect head. Graph analysis only: runs without a GPU.
#include "backends/cuda/fp32_tail.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "cuda_test_util.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "support/test_support.h"

namespace kiln::cuda::test {
namespace {

std::set<std::string> names(const std::set<const ir::Node*>& nodes) {
  std::set<std::string> out;
  for (const ir::Node* n : nodes) out.insert(n->name);
  return out;
}

bool heavy(const ir::Node& n) {
  return n.op_type == "Conv" || n.op_type == "ConvTranspose" || n.op_type == "MatMul" || n.op_type == "Gemm";
}

// x -> conv1 -> silu -> conv2 -> sig -> mul(const) -> cat -> out
//                   \-> relu ---------------------------/
// and silu -> flat -> gemm -> soft (a second output). conv2's and gemm's inputs feed heavy
// ops, so conv1, silu and flat stay; relu feeds only the tail, so it joins it.
TEST(Fp32Tail, TakesTheNodesAfterTheLastHeavyOp) {
  ir::Graph g;
  auto value = [&](const std::string& name) { return g.add_value(name); };
  auto w = [&](const std::string& name) { return g.add_constant(name, random_tensor({4, 4, 1, 1}, 1)); };
  ir::Value* x = value("x");
  g.inputs.push_back(x);
  ir::Value *c1 = value("c1"), *s = value("s"), *c2 = value("c2"), *sg = value("sg"), *m = value("m"),
            *r = value("r"), *cat = value("cat"), *f = value("f"), *gm = value("gm"), *sm = value("sm");
  g.add_node("Conv", "conv1", {x, w("w1")}, {c1});
  g.add_node("SiLU", "silu", {c1}, {s});
  g.add_node("Conv", "conv2", {s, w("w2")}, {c2});
  g.add_node("Sigmoid", "sig", {c2}, {sg});
  g.add_node("Mul", "mul", {sg, g.add_constant("k", random_tensor({1}, 2))}, {m});
  g.add_node("Relu", "relu", {s}, {r});
  g.add_node("Concat", "cat", {m, r}, {cat});
  g.add_node("Flatten", "flat", {s}, {f});
  g.add_node("Gemm", "gemm", {f, g.add_constant("wg", random_tensor({4, 4}, 3))}, {gm});
  g.add_node("Softmax", "soft", {gm}, {sm});
  g.outputs = {cat, sm};
  EXPECT_EQ(names(fp32_tail(g)), (std::set<std::string>{"sig", "mul", "relu", "cat", "soft"}));
}

// yolo11n: the decode after the DFL conv and the class sigmoid run in FP32; no heavy op,
// and nothing feeding one, is in the tail.
TEST(Fp32Tail, Yolo11nDetectHead) {
  KILN_REQUIRE_ASSETS();
  const auto model = ::kiln::test::asset("models/yolo11n.onnx");
  // A GPU run carries only some models (device transfer limit).
  if (!std::filesystem::exists(model)) GTEST_SKIP() << "yolo11n.onnx not present";
  auto graph = onnx::import_model(model);
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  ASSERT_TRUE(passes::optimize(*graph, {}).ok());
  const std::set<const ir::Node*> tail = fp32_tail(*graph);
  std::set<std::string> ops;
  for (const ir::Node* n : tail) {
    ops.insert(n->op_type);
    EXPECT_FALSE(heavy(*n)) << n->name;
    for (const ir::Value* out : n->outputs)
      for (const ir::Node* user : graph->consumers(out)) {
        EXPECT_FALSE(heavy(*user)) << n->name << " feeds " << user->name;
        EXPECT_TRUE(tail.count(user)) << n->name << " is in the tail, its consumer " << user->name << " is not";
      }
  }
  EXPECT_TRUE(tail.count(graph->outputs[0]->producer)) << "the output's producer";
  EXPECT_TRUE(ops.count("Sigmoid") && ops.count("Mul") && ops.count("Concat")) << "decode ops";
  // The tail is the head's last few nodes: everything else is the FP16 network.
  EXPECT_LT(tail.size(), 20u);
  EXPECT_GT(tail.size(), 5u);
}

}  // namespace
}  // namespace kiln::cuda::test
