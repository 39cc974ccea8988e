#include "passes/graph_summary.h"

#include <gtest/gtest.h>

#include "pass_test_util.h"
#include "passes/shape_inference.h"

namespace kiln::passes {
namespace {

using test::add_input;
using test::add_op;
using test::add_random;

TEST(GraphSummary, CountsOpsParametersAndFlops) {
  ir::Graph g;
  ir::Value* x = add_input(g, "images", ir::make_shape({1, 3, 8, 8}));
  ir::Node* conv = add_op(g, "Conv", "conv", {x, add_random(g, "w", {4, 3, 3, 3}, 1), add_random(g, "b", {4}, 2)});
  conv->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  conv->attrs["strides"] = std::vector<int64_t>{2, 2};
  ir::Node* act = add_op(g, "Relu", "relu", {conv->outputs[0]});
  ir::Node* flat = add_op(g, "Flatten", "flat", {act->outputs[0]});
  ir::Node* fc = add_op(g, "Gemm", "fc", {flat->outputs[0], add_random(g, "fcw", {10, 64}, 3)});
  fc->attrs["transB"] = int64_t{1};
  ir::Node* scale = add_op(g, "Mul", "scale", {fc->outputs[0], g.add_constant("k", ir::Tensor::scalar(2.f))});
  g.outputs = {scale->outputs[0]};
  g.metadata["task"] = "classify";
  ASSERT_TRUE(infer_shapes(g).ok());

  GraphSummary s = summarize(g);
  EXPECT_EQ(s.node_count, 5);
  EXPECT_EQ(s.op_histogram, (std::map<std::string, int64_t>{{"Conv", 1}, {"Flatten", 1}, {"Gemm", 1}, {"Mul", 1}, {"Relu", 1}}));
  EXPECT_EQ(s.parameter_count, 4 * 3 * 3 * 3 + 4 + 10 * 64);  // the Mul's scalar is not a weight
  // Conv: 2*1*4*4*4*3*3*3 = 3456; Relu: 64; Gemm: 2*1*10*64 = 1280; Mul: 10.
  EXPECT_DOUBLE_EQ(s.flops, 3456 + 64 + 1280 + 10);
  EXPECT_EQ(s.nodes_without_shapes, 0);
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].name, "images");
  EXPECT_EQ(ir::shape_to_string(*s.outputs[0].shape), "[1,10]");
  std::string text = s.to_text();
  EXPECT_NE(text.find("parameters: 752"), std::string::npos) << text;
  EXPECT_NE(text.find("task: classify"), std::string::npos) << text;
}

TEST(GraphSummary, SymbolicShapesLeaveFlopsUncounted) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", {ir::Dim::symbolic("batch"), ir::Dim::known(4)});
  ir::Node* relu = add_op(g, "Relu", "relu", {x});
  g.outputs = {relu->outputs[0]};
  ASSERT_TRUE(infer_shapes(g).ok());
  GraphSummary s = summarize(g);
  EXPECT_EQ(s.nodes_without_shapes, 1);
  ASSERT_TRUE(infer_shapes(g, {{"batch", 3}}).ok());
  EXPECT_DOUBLE_EQ(summarize(g).flops, 12);
}

}  // namespace
}  // namespace kiln::passes
