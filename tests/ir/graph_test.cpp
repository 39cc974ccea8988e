#include "ir/graph.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/half.h"
#include "ir/op_set.h"

namespace kiln::ir {
namespace {

TEST(Graph, TopologicalSortOrdersProducersFirst) {
  Graph g;
  Value* x = g.add_value("x");
  Value* a = g.add_value("a");
  Value* b = g.add_value("b");
  g.inputs = {x};
  // Added out of order: b's consumer first.
  g.add_node("Relu", "second", {a}, {b});
  g.add_node("Sigmoid", "first", {x}, {a});
  g.outputs = {b};
  ASSERT_TRUE(g.topological_sort());
  EXPECT_EQ(g.nodes()[0]->name, "first");
  EXPECT_EQ(g.nodes()[1]->name, "second");
}

TEST(Graph, TopologicalSortDetectsCycle) {
  Graph g;
  Value* a = g.add_value("a");
  Value* b = g.add_value("b");
  g.add_node("Relu", "n1", {a}, {b});
  g.add_node("Relu", "n2", {b}, {a});
  EXPECT_FALSE(g.topological_sort());
}

TEST(Graph, ReplaceUsesAndRemoveUnused) {
  Graph g;
  Value* x = g.add_value("x");
  Value* y = g.add_value("y");
  Value* z = g.add_value("z");
  g.inputs = {x};
  g.add_node("Identity", "id", {x}, {y});
  g.add_node("Relu", "relu", {y}, {z});
  g.outputs = {z};
  g.replace_all_uses(y, x);
  g.remove_nodes([](const Node& n) { return n.op_type == "Identity"; });
  g.remove_unused_values();
  EXPECT_EQ(g.nodes().size(), 1u);
  EXPECT_EQ(g.nodes()[0]->inputs[0], x);
  EXPECT_EQ(g.find_value("y"), nullptr);
  EXPECT_EQ(g.consumers(x).size(), 1u);
}

TEST(Graph, AddValueMakesNamesUnique) {
  Graph g;
  Value* a = g.add_value("t");
  Value* b = g.add_value("t");
  EXPECT_NE(a->name, b->name);
  EXPECT_EQ(g.find_value(b->name), b);
}

TEST(Shape, PrintsSymbolsAndUnknowns) {
  Shape s = {Dim::symbolic("N"), Dim::known(3), Dim{}};
  EXPECT_EQ(shape_to_string(s), "[N,3,?]");
  EXPECT_FALSE(is_static(s));
  EXPECT_TRUE(is_static(make_shape({1, 2})));
}

TEST(Half, RoundTripsKnownValues) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(1e6f), 0x7c00);            // overflow to inf
  EXPECT_EQ(float_to_half(5.960464477539063e-08f), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048), 0x3c00);      // tie rounds to even
  EXPECT_FLOAT_EQ(half_to_float(0x3555), 0.333251953125f);
  EXPECT_FLOAT_EQ(half_to_float(0x0001), 5.960464477539063e-08f);
  for (float f : {0.1f, -3.75f, 1000.5f, 6.1e-5f})
    EXPECT_NEAR(half_to_float(float_to_half(f)), f, std::fabs(f) * 1e-3);
}

TEST(Tensor, ConvertsAndReshapes) {
  Tensor t = Tensor::from_vector<int64_t>({2, 2}, {1, -2, 3, 4});
  EXPECT_EQ(t.numel(), 4);
  EXPECT_EQ(t.as_int64(), (std::vector<int64_t>{1, -2, 3, 4}));
  Tensor f = t.to_float32().reshaped({4});
  EXPECT_EQ(f.shape(), (std::vector<int64_t>{4}));
  EXPECT_FLOAT_EQ(f.data<float>()[1], -2.0f);
}

TEST(OpSet, KnowsModelOpsAndRejectsOthers) {
  EXPECT_TRUE(is_supported_op("Conv"));
  EXPECT_TRUE(is_supported_op("DynamicQuantizeLinear"));
  EXPECT_FALSE(is_supported_op("LSTM"));
}

}  // namespace
}  // namespace kiln::ir
