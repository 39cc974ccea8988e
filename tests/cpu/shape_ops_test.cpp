// Hand-computed cases for the shape / data-movement kernels.
#include <gtest/gtest.h>

#include <limits>

#include "run_op.h"

namespace kiln::cpu::test {
namespace {

using ir::DType;

TEST(CpuShapeOps, ShapeWithStartEnd) {
  auto r = run_op({"Shape", {tensor<float>({2, 3, 4, 5}, std::vector<float>(120))}, 1, {{"start", int64_t{1}}, {"end", int64_t{-1}}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(values_of<int64_t>((*r)[0]), (std::vector<int64_t>{3, 4}));
}

TEST(CpuShapeOps, GatherNegativeIndices) {
  // data [3,2], gather rows -1 and 0 along axis 0, and column -1 along axis 1.
  auto data = tensor<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  auto r = run_op({"Gather", {data, tensor<int64_t>({2}, {-1, 0})}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(values_of<float>((*r)[0]), (std::vector<float>{5, 6, 1, 2}));
  auto c = run_op({"Gather", {data, tensor<int64_t>({}, {-1})}, 1, {{"axis", int64_t{1}}}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ((*c)[0].shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ(values_of<float>((*c)[0]), (std::vector<float>{2, 4, 6}));
  auto bad = run_op({"Gather", {data, tensor<int64_t>({1}, {3})}});
  EXPECT_FALSE(bad.ok());
}

TEST(CpuShapeOps, SliceNegativeStepAndClamping) {
  auto x = tensor<int64_t>({2, 5}, {0, 1, 2, 3, 4, 10, 11, 12, 13, 14});
  // axis 1 from the end backwards with step -2: columns 4, 2, 0.
  auto r = run_op({"Slice", {x, tensor<int64_t>({1}, {-1}), tensor<int64_t>({1}, {std::numeric_limits<int64_t>::min()}),
                             tensor<int64_t>({1}, {1}), tensor<int64_t>({1}, {-2})}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values_of<int64_t>((*r)[0]), (std::vector<int64_t>{4, 2, 0, 14, 12, 10}));
  // Ends past the dim clamp; axes omitted means 0..n-1; steps omitted means 1.
  auto c = run_op({"Slice", {x, tensor<int64_t>({2}, {1, 3}), tensor<int64_t>({2}, {100, 1000})}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ((*c)[0].shape(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(values_of<int64_t>((*c)[0]), (std::vector<int64_t>{13, 14}));
  // Reversed range with positive step is empty.
  auto e = run_op({"Slice", {x, tensor<int64_t>({1}, {4}), tensor<int64_t>({1}, {1}), tensor<int64_t>({1}, {-1})}});
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ((*e)[0].shape(), (std::vector<int64_t>{2, 0}));
}

TEST(CpuShapeOps, ReshapeZeroAndMinusOne) {
  auto x = tensor<float>({2, 3, 4}, std::vector<float>(24, 1.0f));
  auto r = run_op({"Reshape", {x, tensor<int64_t>({2}, {0, -1})}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].shape(), (std::vector<int64_t>{2, 12}));
  auto bad = run_op({"Reshape", {x, tensor<int64_t>({2}, {-1, -1})}});
  EXPECT_FALSE(bad.ok());
  auto bad2 = run_op({"Reshape", {x, tensor<int64_t>({2}, {5, -1})}});
  EXPECT_FALSE(bad2.ok());
}

TEST(CpuShapeOps, SplitBySizesNumOutputsAndEqual) {
  auto x = tensor<float>({1, 5}, {0, 1, 2, 3, 4});
  auto r = run_op({"Split", {x, tensor<int64_t>({2}, {2, 3})}, 2, {{"axis", int64_t{1}}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(values_of<float>((*r)[0]), (std::vector<float>{0, 1}));
  EXPECT_EQ(values_of<float>((*r)[1]), (std::vector<float>{2, 3, 4}));
  // num_outputs 3 over 5: ceil -> 2, 2, 1.
  auto n = run_op({"Split", {x}, 3, {{"axis", int64_t{-1}}, {"num_outputs", int64_t{3}}}});
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(values_of<float>((*n)[2]), (std::vector<float>{4}));
  auto y = tensor<float>({4, 1}, {0, 1, 2, 3});
  auto e = run_op({"Split", {y}, 2});
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(values_of<float>((*e)[1]), (std::vector<float>{2, 3}));
}

TEST(CpuShapeOps, BroadcastingArithmetic) {
  // [2,1,3] + [2,1] -> [2,2,3]
  auto a = tensor<float>({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  auto b = tensor<float>({2, 1}, {10, 20});
  auto r = run_op({"Add", {a, b}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].shape(), (std::vector<int64_t>{2, 2, 3}));
  EXPECT_EQ(values_of<float>((*r)[0]), (std::vector<float>{11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26}));
  auto s = run_op({"Sub", {tensor<int64_t>({3}, {5, 6, 7}), tensor<int64_t>({}, {2})}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(values_of<int64_t>((*s)[0]), (std::vector<int64_t>{3, 4, 5}));
  auto d = run_op({"Div", {tensor<int64_t>({2}, {7, -7}), tensor<int64_t>({1}, {2})}});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(values_of<int64_t>((*d)[0]), (std::vector<int64_t>{3, -3}));
  auto m = run_op({"Mul", {tensor<int32_t>({1, 2}, {2, 3}), tensor<int32_t>({2, 1}, {4, 5})}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(values_of<int32_t>((*m)[0]), (std::vector<int32_t>{8, 12, 10, 15}));
  EXPECT_FALSE(run_op({"Add", {tensor<float>({2}, {1, 2}), tensor<float>({3}, {1, 2, 3})}}).ok());
}

TEST(CpuShapeOps, ConcatUnsqueezeExpandTranspose) {
  auto c = run_op({"Concat", {tensor<int64_t>({1}, {1}), tensor<int64_t>({2}, {2, 3})}, 1, {{"axis", int64_t{0}}}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(values_of<int64_t>((*c)[0]), (std::vector<int64_t>{1, 2, 3}));
  auto u = run_op({"Unsqueeze", {tensor<float>({3}, {1, 2, 3}), tensor<int64_t>({2}, {0, -1})}});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ((*u)[0].shape(), (std::vector<int64_t>{1, 3, 1}));
  auto e = run_op({"Expand", {tensor<float>({3, 1}, {1, 2, 3}), tensor<int64_t>({3}, {2, 1, 2})}});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)[0].shape(), (std::vector<int64_t>{2, 3, 2}));
  EXPECT_EQ(values_of<float>((*e)[0]), (std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
  auto t = run_op({"Transpose", {tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(values_of<float>((*t)[0]), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(CpuShapeOps, CastRangeConstantOfShape) {
  auto c = run_op({"Cast", {tensor<float>({3}, {-1.7f, 0.5f, 2.9f})}, 1, {{"to", int64_t{7}}}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(values_of<int64_t>((*c)[0]), (std::vector<int64_t>{-1, 0, 2}));
  auto r = run_op({"Range", {tensor<int64_t>({}, {10}), tensor<int64_t>({}, {1}), tensor<int64_t>({}, {-3})}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(values_of<int64_t>((*r)[0]), (std::vector<int64_t>{10, 7, 4}));
  auto k = run_op({"ConstantOfShape", {tensor<int64_t>({2}, {2, 2})}, 1, {{"value", ir::Tensor::scalar<int64_t>(7)}}});
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(values_of<int64_t>((*k)[0]), (std::vector<int64_t>{7, 7, 7, 7}));
}

TEST(CpuExecutor, RejectsWrongInputs) {
  auto wrong_dtype = run_op({"Relu", {tensor<int64_t>({2}, {1, 2})}});
  ASSERT_FALSE(wrong_dtype.ok());
  EXPECT_NE(wrong_dtype.status().message().find("node0 (Relu)"), std::string::npos) << wrong_dtype.status().message();
  ir::Graph g;
  ir::Value* in = g.add_value("images");
  in->dtype = DType::kFloat32;
  in->shape = ir::Shape{ir::Dim::symbolic("N"), ir::Dim::known(3)};
  ir::Value* out = g.add_value("y");
  g.add_node("Relu", "r", {in}, {out});
  g.inputs = {in};
  g.outputs = {out};
  auto ex = Executor::create(g);
  ASSERT_TRUE(ex.ok());
  EXPECT_TRUE(ex->run({tensor<float>({2, 3}, std::vector<float>(6, -1.0f))}).ok());
  auto bad_dim = ex->run({tensor<float>({2, 4}, std::vector<float>(8))});
  ASSERT_FALSE(bad_dim.ok());
  EXPECT_EQ(bad_dim.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_dim.status().message().find("images"), std::string::npos);
  EXPECT_FALSE(ex->run({tensor<int64_t>({2, 3}, std::vector<int64_t>(6))}).ok());
  EXPECT_FALSE(ex->run({}).ok());
  g.add_node("NoSuchOp", "mystery", {out}, {g.add_value("z")});
  auto unsupported = Executor::create(g);
  ASSERT_FALSE(unsupported.ok());
  EXPECT_EQ(unsupported.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(unsupported.status().message().find("NoSuchOp"), std::string::npos);
  EXPECT_NE(unsupported.status().message().find("mystery"), std::string::npos);
}

}  // namespace
}  // namespace kiln::cpu::test
