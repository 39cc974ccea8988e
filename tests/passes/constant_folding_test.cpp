#include "passes/constant_folding.h"

#include <gtest/gtest.h>

#include "pass_test_util.h"

namespace kiln::passes {
namespace {

using test::add_input;
using test::add_ints;
using test::add_op;

// Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])): the flatten pattern of exports.
struct ShapeChain {
  ir::Graph g;
  ir::Node* reshape;
};

ShapeChain make_chain(const ir::Shape& x_shape) {
  ShapeChain c;
  ir::Value* x = add_input(c.g, "x", x_shape);
  ir::Node* shape = add_op(c.g, "Shape", "shape", {x});
  ir::Node* gather = add_op(c.g, "Gather", "gather", {shape->outputs[0], add_ints(c.g, "i", {0}, true)});
  ir::Node* unsq = add_op(c.g, "Unsqueeze", "unsq", {gather->outputs[0], add_ints(c.g, "axes", {0})});
  ir::Node* concat = add_op(c.g, "Concat", "concat", {unsq->outputs[0], add_ints(c.g, "rest", {-1})});
  concat->attrs["axis"] = int64_t{0};
  c.reshape = add_op(c.g, "Reshape", "reshape", {x, concat->outputs[0]});
  c.g.outputs = {c.reshape->outputs[0]};
  return c;
}

TEST(ConstantFolding, StaticShapeChainFoldsToTheReshapeTarget) {
  ShapeChain c = make_chain(ir::make_shape({2, 3, 4}));
  auto n = fold_constants(c.g);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 4);  // Shape, Gather, Unsqueeze, Concat
  ASSERT_EQ(c.g.nodes().size(), 1u);
  EXPECT_EQ(c.g.nodes()[0]->op_type, "Reshape");
  const ir::Value* target = c.g.nodes()[0]->inputs[1];
  ASSERT_TRUE(target->is_constant());
  EXPECT_EQ(target->initializer->as_int64(), (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(target->dtype, ir::DType::kInt64);
}

TEST(ConstantFolding, SymbolicShapeChainStays) {
  ShapeChain c = make_chain({ir::Dim::symbolic("batch"), ir::Dim::known(3)});
  auto n = fold_constants(c.g);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(c.g.nodes().size(), 5u);
}

TEST(ConstantFolding, TrackedValuesFoldKnownPartsOfSymbolicShapes) {
  // Gather(Shape(x), 1) is 3 even though the batch is symbolic.
  ShapeChain c = make_chain({ir::Dim::symbolic("batch"), ir::Dim::known(3)});
  c.g.nodes()[1]->inputs[1] = add_ints(c.g, "i1", {1}, true);
  auto known = infer_shapes(c.g);
  ASSERT_TRUE(known.ok()) << known.status().message();
  auto n = fold_constants(c.g, &*known);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);  // Gather, Unsqueeze, Concat; Shape stays (its value has the symbol)
  const ir::Value* target = c.g.find_value("concat_out0");  // the Concat node is gone
  ASSERT_TRUE(target && target->is_constant());
  EXPECT_EQ(target->initializer->as_int64(), (std::vector<int64_t>{3, -1}));
}

TEST(ConstantFolding, FloatArithmeticOnConstantsUsesCpuKernels) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", ir::make_shape({3}));
  ir::Value* a = g.add_constant("a", ir::Tensor::from_vector<float>({3}, {1.f, 2.f, 3.f}));
  ir::Value* b = g.add_constant("b", ir::Tensor::scalar(0.5f));
  ir::Node* add = add_op(g, "Add", "add", {a, b});
  ir::Node* mul = add_op(g, "Mul", "mul", {x, add->outputs[0]});
  g.outputs = {mul->outputs[0]};
  auto n = fold_constants(g);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  const ir::Value* folded = mul->inputs[1];
  EXPECT_EQ(folded->name, "add_out0");
  ASSERT_TRUE(folded->is_constant());
  auto v = folded->initializer->values<float>();
  EXPECT_EQ(std::vector<float>(v.begin(), v.end()), (std::vector<float>{1.5f, 2.5f, 3.5f}));
}

TEST(ConstantFolding, HugeOutputsAreNotFolded) {
  ir::Graph g;
  ir::Node* big = add_op(g, "ConstantOfShape", "big", {add_ints(g, "dims", {4096, 8192})});
  g.outputs = {big->outputs[0]};
  ASSERT_TRUE(infer_shapes(g).ok());
  auto n = fold_constants(g);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  EXPECT_FALSE(big->outputs[0]->is_constant());
}

}  // namespace
}  // namespace kiln::passes
