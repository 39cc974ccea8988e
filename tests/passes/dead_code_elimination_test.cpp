#include "passes/dead_code_elimination.h"

#include <gtest/gtest.h>

#include "pass_test_util.h"

namespace kiln::passes {
namespace {

using test::add_input;
using test::add_op;

TEST(DeadCodeElimination, DropsDanglingBranchAndItsValues) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", ir::make_shape({4}));
  ir::Node* live = add_op(g, "Relu", "live", {x});
  ir::Node* dead1 = add_op(g, "Sigmoid", "dead1", {x});
  ir::Node* dead2 = add_op(g, "Add", "dead2", {dead1->outputs[0], g.add_constant("c", ir::Tensor::scalar(1.f))});
  (void)dead2;
  g.outputs = {live->outputs[0]};
  EXPECT_EQ(eliminate_dead_code(g), 2);
  ASSERT_EQ(g.nodes().size(), 1u);
  EXPECT_EQ(g.nodes()[0]->name, "live");
  EXPECT_EQ(g.find_value("c"), nullptr);
  EXPECT_EQ(g.find_value("dead2_out0"), nullptr);
  EXPECT_NE(g.find_value("x"), nullptr);  // graph inputs stay
}

TEST(DeadCodeElimination, BypassesIdentities) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", ir::make_shape({4}));
  ir::Node* id = add_op(g, "Identity", "id", {x});
  ir::Node* relu = add_op(g, "Relu", "relu", {id->outputs[0]});
  ir::Node* id_out = add_op(g, "Identity", "id_out", {relu->outputs[0]});
  g.outputs = {id_out->outputs[0]};
  EXPECT_EQ(eliminate_dead_code(g), 2);
  ASSERT_EQ(g.nodes().size(), 1u);
  EXPECT_EQ(g.nodes()[0]->inputs[0], x);
  // The graph output keeps its name: relu now produces it.
  EXPECT_EQ(g.outputs[0]->name, "id_out_out0");
  EXPECT_EQ(g.outputs[0]->producer, g.nodes()[0].get());
}

TEST(DeadCodeElimination, IdentityOfGraphInputToOutputStays) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", ir::make_shape({4}));
  ir::Node* id = add_op(g, "Identity", "id", {x});
  g.outputs = {id->outputs[0]};
  EXPECT_EQ(eliminate_dead_code(g), 0);
  EXPECT_EQ(g.outputs[0]->name, "id_out0");
}

}  // namespace
}  // namespace kiln::passes
