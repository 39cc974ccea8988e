#include "passes/fold_batchnorm.h"

#include <gtest/gtest.h>

#include "backends/cpu/executor.h"
#include "pass_test_util.h"
#include "support/test_support.h"

namespace kiln::passes {
namespace {

using test::add_input;
using test::add_op;
using test::add_random;

// x -> Conv(w, b) -> BatchNormalization -> Relu; `with_bias` toggles the conv bias.
ir::Graph conv_bn_graph(bool with_bias) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", ir::make_shape({2, 3, 9, 7}));
  std::vector<ir::Value*> conv_in = {x, add_random(g, "w", {8, 3, 3, 3}, 1)};
  if (with_bias) conv_in.push_back(add_random(g, "b", {8}, 2));
  ir::Node* conv = add_op(g, "Conv", "conv", conv_in);
  conv->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  conv->attrs["strides"] = std::vector<int64_t>{2, 1};
  ir::Node* bn = add_op(g, "BatchNormalization", "bn",
                        {conv->outputs[0], add_random(g, "gamma", {8}, 3, 0.5f, 2.f), add_random(g, "beta", {8}, 4),
                         add_random(g, "mean", {8}, 5), add_random(g, "var", {8}, 6, 0.1f, 3.f)});
  bn->attrs["epsilon"] = 1e-3f;
  ir::Node* relu = add_op(g, "Relu", "relu", {bn->outputs[0]});
  g.outputs = {relu->outputs[0]};
  return g;
}

ir::Tensor run(const ir::Graph& g, const ir::Tensor& x) {
  auto exec = cpu::Executor::create(g);
  EXPECT_TRUE(exec.ok()) << exec.status().message();
  auto out = exec->run({x});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return (*out)[0];
}

class FoldBatchNorm : public ::testing::TestWithParam<bool> {};

TEST_P(FoldBatchNorm, MatchesConvThenBatchNormOnRandomData) {
  ir::Graph reference = conv_bn_graph(GetParam());
  ir::Graph folded = conv_bn_graph(GetParam());
  auto n = fold_batchnorm(folded);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(test::count_ops(folded, "BatchNormalization"), 0u);
  ASSERT_EQ(folded.nodes().size(), 2u);
  EXPECT_EQ(folded.nodes()[0]->inputs.size(), 3u);  // a bias now, even without one before
  ir::Tensor x = test::random_tensor({2, 3, 9, 7}, 42);
  ir::Tensor want = run(reference, x);
  ir::Tensor got = run(folded, x);
  auto d = kiln::test::compare(got, want);
  EXPECT_LE(d.max_abs, 1e-5 * std::max(1.0, d.range)) << "range " << d.range;
  EXPECT_GT(d.range, 0.1);
}

INSTANTIATE_TEST_SUITE_P(Bias, FoldBatchNorm, ::testing::Bool());

TEST(FoldBatchNormRules, ConvOutputWithTwoConsumersIsLeftAlone) {
  ir::Graph g = conv_bn_graph(true);
  ir::Value* conv_out = g.nodes()[0]->outputs[0];
  ir::Node* extra = add_op(g, "Relu", "extra", {conv_out});
  g.outputs.push_back(extra->outputs[0]);
  auto n = fold_batchnorm(g);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(test::count_ops(g, "BatchNormalization"), 1u);
}

TEST(FoldBatchNormRules, BatchNormAfterGemmStays) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", ir::make_shape({2, 4}));
  ir::Node* fc = add_op(g, "Gemm", "fc", {x, add_random(g, "w", {4, 4}, 1)});
  ir::Node* bn = add_op(g, "BatchNormalization", "bn",
                        {fc->outputs[0], add_random(g, "g", {4}, 2), add_random(g, "b", {4}, 3),
                         add_random(g, "m", {4}, 4), add_random(g, "v", {4}, 5, 0.5f, 1.f)});
  g.outputs = {bn->outputs[0]};
  auto n = fold_batchnorm(g);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(g.nodes().size(), 2u);
}

}  // namespace
}  // namespace kiln::passes
