#include "passes/fuse_silu.h"

#include <gtest/gtest.h>

#include "backends/cpu/executor.h"
#include "pass_test_util.h"
#include "support/test_support.h"

namespace kiln::passes {
namespace {

using test::add_input;
using test::add_op;
using test::count_ops;

TEST(FuseSilu, BothInputOrdersFuseAndKeepValues) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", ir::make_shape({1, 4, 5}));
  ir::Node* s1 = add_op(g, "Sigmoid", "s1", {x});
  ir::Node* m1 = add_op(g, "Mul", "m1", {x, s1->outputs[0]});
  ir::Node* s2 = add_op(g, "Sigmoid", "s2", {m1->outputs[0]});
  ir::Node* m2 = add_op(g, "Mul", "m2", {s2->outputs[0], m1->outputs[0]});  // sigmoid first
  g.outputs = {m2->outputs[0]};
  ir::Tensor in = test::random_tensor({1, 4, 5}, 7, -4.f, 4.f);
  auto before = cpu::Executor::create(g)->run({in});
  ASSERT_TRUE(before.ok()) << before.status().message();

  EXPECT_EQ(fuse_silu(g), 2);
  EXPECT_EQ(count_ops(g, "SiLU"), 2u);
  EXPECT_EQ(count_ops(g, "Sigmoid"), 0u);
  EXPECT_EQ(count_ops(g, "Mul"), 0u);
  EXPECT_EQ(g.outputs[0]->name, "m2_out0");  // output keeps its value and name
  auto after = cpu::Executor::create(g)->run({in});
  ASSERT_TRUE(after.ok()) << after.status().message();
  auto d = kiln::test::compare((*after)[0], (*before)[0]);
  EXPECT_LE(d.max_abs, 1e-6);
}

TEST(FuseSilu, SigmoidWithTwoConsumersIsLeftAlone) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", ir::make_shape({3}));
  ir::Node* s = add_op(g, "Sigmoid", "s", {x});
  ir::Node* m = add_op(g, "Mul", "m", {x, s->outputs[0]});
  ir::Node* other = add_op(g, "Relu", "other", {s->outputs[0]});
  g.outputs = {m->outputs[0], other->outputs[0]};
  EXPECT_EQ(fuse_silu(g), 0);
  EXPECT_EQ(count_ops(g, "Sigmoid"), 1u);
  EXPECT_EQ(count_ops(g, "Mul"), 1u);
}

TEST(FuseSilu, SigmoidThatIsAGraphOutputOrOfAnotherValueIsLeftAlone) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", ir::make_shape({3}));
  ir::Value* y = add_input(g, "y", ir::make_shape({3}));
  ir::Node* s = add_op(g, "Sigmoid", "s", {x});
  ir::Node* m = add_op(g, "Mul", "m", {x, s->outputs[0]});
  ir::Node* sy = add_op(g, "Sigmoid", "sy", {y});
  ir::Node* gate = add_op(g, "Mul", "gate", {x, sy->outputs[0]});  // x * sigmoid(y): not SiLU
  g.outputs = {m->outputs[0], s->outputs[0], gate->outputs[0]};
  EXPECT_EQ(fuse_silu(g), 0);
  EXPECT_EQ(count_ops(g, "SiLU"), 0u);
}

}  // namespace
}  // namespace kiln::passes
