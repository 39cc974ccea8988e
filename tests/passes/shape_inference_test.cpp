#include "passes/shape_inference.h"

#include <gtest/gtest.h>

#include <climits>
#include <cmath>

#include "pass_test_util.h"

namespace kiln::passes {
namespace {

using ir::Dim;
using ir::Shape;
using test::add_input;
using test::add_ints;
using test::add_op;

const Dim N = Dim::symbolic("batch");
Dim K(int64_t v) { return Dim::known(v); }

std::string shape_of(const ir::Value* v) { return v->shape ? ir::shape_to_string(*v->shape) : "unset"; }

TEST(ShapeInference, ConvStridedWithSymbolicBatch) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", {N, K(3), K(640), K(640)});
  ir::Value* w = test::add_random(g, "w", {16, 3, 3, 3}, 1);
  ir::Node* conv = add_op(g, "Conv", "conv", {x, w});
  conv->attrs["strides"] = std::vector<int64_t>{2, 2};
  conv->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  ir::Node* same = add_op(g, "Conv", "conv_same", {conv->outputs[0], test::add_random(g, "w2", {8, 16, 3, 3}, 2)});
  same->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  g.outputs = {same->outputs[0]};
  ASSERT_TRUE(infer_shapes(g).ok());
  EXPECT_EQ(shape_of(conv->outputs[0]), "[batch,16,320,320]");
  EXPECT_EQ(shape_of(same->outputs[0]), "[batch,8,320,320]");
  EXPECT_EQ(conv->outputs[0]->dtype, ir::DType::kFloat32);
}

TEST(ShapeInference, SymbolicSpatialDimsSurviveSameConvButNotStrided) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", {N, K(3), Dim::symbolic("h"), Dim::symbolic("w")});
  ir::Node* same = add_op(g, "Conv", "same", {x, test::add_random(g, "w", {4, 3, 3, 3}, 1)});
  same->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  ir::Node* down = add_op(g, "Conv", "down", {same->outputs[0], test::add_random(g, "w2", {4, 4, 3, 3}, 2)});
  down->attrs["strides"] = std::vector<int64_t>{2, 2};
  down->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  ASSERT_TRUE(infer_shapes(g).ok());
  EXPECT_EQ(shape_of(same->outputs[0]), "[batch,4,h,w]");
  EXPECT_EQ(shape_of(down->outputs[0]), "[batch,4,?,?]");  // unknown, never guessed
}

TEST(ShapeInference, MaxPoolCeilModeDropsWindowStartingInPadding) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", {K(1), K(1), K(5), K(5)});
  auto pool = [&](const std::string& name, int64_t ceil, std::vector<int64_t> pads) {
    ir::Node* n = add_op(g, "MaxPool", name, {x});
    n->attrs["kernel_shape"] = std::vector<int64_t>{2, 2};
    n->attrs["strides"] = std::vector<int64_t>{2, 2};
    n->attrs["pads"] = pads;
    n->attrs["ceil_mode"] = ceil;
    return n;
  };
  ir::Node* floor_mode = pool("floor", 0, {0, 0, 0, 0});
  ir::Node* ceil_mode = pool("ceil", 1, {0, 0, 0, 0});
  ir::Node* ceil_padded = pool("ceil_padded", 1, {1, 1, 1, 1});  // PyTorch gives 3, not 4
  ASSERT_TRUE(infer_shapes(g).ok());
  EXPECT_EQ(shape_of(floor_mode->outputs[0]), "[1,1,2,2]");
  EXPECT_EQ(shape_of(ceil_mode->outputs[0]), "[1,1,3,3]");
  EXPECT_EQ(shape_of(ceil_padded->outputs[0]), "[1,1,3,3]");
}

TEST(ShapeInference, ResizeConcatSplitTranspose) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", {N, K(64), K(20), K(20)});
  ir::Value* skip = add_input(g, "skip", {N, K(32), K(40), K(40)});
  ir::Value* scales = g.add_constant("scales", ir::Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
  ir::Node* up = add_op(g, "Resize", "up", {x, nullptr, scales});
  ir::Node* cat = add_op(g, "Concat", "cat", {up->outputs[0], skip});
  cat->attrs["axis"] = int64_t{1};
  ir::Node* split = add_op(g, "Split", "split", {cat->outputs[0], add_ints(g, "sizes", {16, 80})}, 2);
  split->attrs["axis"] = int64_t{-3};
  ir::Node* tr = add_op(g, "Transpose", "tr", {split->outputs[1]});
  tr->attrs["perm"] = std::vector<int64_t>{0, 2, 3, 1};
  ASSERT_TRUE(infer_shapes(g).ok());
  EXPECT_EQ(shape_of(up->outputs[0]), "[batch,64,40,40]");
  EXPECT_EQ(shape_of(cat->outputs[0]), "[batch,96,40,40]");
  EXPECT_EQ(shape_of(split->outputs[0]), "[batch,16,40,40]");
  EXPECT_EQ(shape_of(split->outputs[1]), "[batch,80,40,40]");
  EXPECT_EQ(shape_of(tr->outputs[0]), "[batch,40,40,80]");
}

// Scales and Range bounds are floats or int64s from the file: NaN, infinite, negative or
// huge ones are errors naming the node, never undefined casts or overflows.
TEST(ShapeInference, ResizeScalesAndRangeBoundsAreCheckedBeforeCasting) {
  const float nan = std::nanf(""), inf = INFINITY;
  for (float bad : {nan, inf, -2.0f, 0.0f, 1e12f}) {
    ir::Graph g;
    ir::Value* x = add_input(g, "x", {K(1), K(3), K(8), K(8)});
    ir::Value* scales = g.add_constant("scales", ir::Tensor::from_vector<float>({4}, {1, 1, bad, 2}));
    add_op(g, "Resize", "bad_resize", {x, nullptr, scales});
    auto r = infer_shapes(g);
    ASSERT_FALSE(r.ok()) << "scale " << bad;
    EXPECT_NE(r.status().message().find("bad_resize"), std::string::npos) << r.status().message();
  }
  for (float limit : {nan, inf, 1e20f}) {
    ir::Graph g;
    add_op(g, "Range", "bad_range", {g.add_constant("s", ir::Tensor::scalar(0.f)), g.add_constant("l", ir::Tensor::scalar(limit)),
                                     g.add_constant("d", ir::Tensor::scalar(1.f))});
    auto r = infer_shapes(g);
    ASSERT_FALSE(r.ok()) << "limit " << limit;
    EXPECT_NE(r.status().message().find("bad_range"), std::string::npos) << r.status().message();
  }
  ir::Graph g;
  add_op(g, "Range", "int_range", {add_ints(g, "s", {INT64_MIN}, true), add_ints(g, "l", {INT64_MAX}, true), add_ints(g, "d", {1}, true)});
  auto r = infer_shapes(g);
  ASSERT_FALSE(r.ok()) << "int64 range overflowing a length";
  EXPECT_NE(r.status().message().find("above 2^31"), std::string::npos) << r.status().message();
}

// A Reshape target from the file whose product overflows int64 is an error naming the node.
TEST(ShapeInference, ReshapeTargetOverflowingInt64IsAnError) {
  for (const std::vector<int64_t>& target : {std::vector<int64_t>{INT64_MAX, 6}, std::vector<int64_t>{-1, INT64_MAX, 4}}) {
    ir::Graph g;
    ir::Value* x = add_input(g, "x", {K(2), K(3)});
    add_op(g, "Reshape", "bad_reshape", {x, add_ints(g, "shape", target)});
    auto r = infer_shapes(g);
    ASSERT_FALSE(r.ok()) << ir::shape_to_string(target);
    EXPECT_NE(r.status().message().find("bad_reshape"), std::string::npos) << r.status().message();
  }
}

TEST(ShapeInference, ReshapeZeroAndMinusOne) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", {N, K(144), K(80), K(80)});
  ir::Node* r1 = add_op(g, "Reshape", "r1", {x, add_ints(g, "t1", {0, 144, -1})});
  ir::Node* r2 = add_op(g, "Reshape", "r2", {x, add_ints(g, "t2", {-1, 80})});  // batch*144*80 rows: not a symbol
  ir::Value* y = add_input(g, "y", {K(2), K(3), K(4)});
  ir::Node* r3 = add_op(g, "Reshape", "r3", {y, add_ints(g, "t3", {0, -1})});
  ASSERT_TRUE(infer_shapes(g).ok());
  EXPECT_EQ(shape_of(r1->outputs[0]), "[batch,144,6400]");
  EXPECT_EQ(shape_of(r2->outputs[0]), "[?,80]");
  EXPECT_EQ(shape_of(r3->outputs[0]), "[2,12]");
}

TEST(ShapeInference, ShapeGatherConcatChainResolvesReshapeTarget) {
  // The pattern of a dynamic export: reshape to [batch, 4, 16, H*W] computed from Shape.
  ir::Graph g;
  ir::Value* x = add_input(g, "x", {N, K(64), K(8), K(10)});
  ir::Node* shape = add_op(g, "Shape", "shape", {x});
  ir::Node* b = add_op(g, "Gather", "gather_b", {shape->outputs[0], add_ints(g, "i0", {0}, true)});
  ir::Node* h = add_op(g, "Gather", "gather_h", {shape->outputs[0], add_ints(g, "i2", {2}, true)});
  ir::Node* w = add_op(g, "Gather", "gather_w", {shape->outputs[0], add_ints(g, "i3", {3}, true)});
  ir::Node* hw = add_op(g, "Mul", "hw", {h->outputs[0], w->outputs[0]});
  ir::Value* axes = add_ints(g, "axes", {0});
  ir::Node* ub = add_op(g, "Unsqueeze", "ub", {b->outputs[0], axes});
  ir::Node* uhw = add_op(g, "Unsqueeze", "uhw", {hw->outputs[0], axes});
  ir::Node* cat = add_op(g, "Concat", "cat", {ub->outputs[0], add_ints(g, "c", {4, 16}), uhw->outputs[0]});
  ir::Node* r = add_op(g, "Reshape", "r", {x, cat->outputs[0]});
  ir::Node* cast = add_op(g, "Cast", "cast", {w->outputs[0]});
  cast->attrs["to"] = int64_t{1};
  ir::Node* range = add_op(g, "Range", "range",
                           {g.add_constant("zero", ir::Tensor::scalar(0.f)), cast->outputs[0],
                            g.add_constant("one", ir::Tensor::scalar(1.f))});
  auto values = infer_shapes(g);
  ASSERT_TRUE(values.ok()) << values.status().message();
  EXPECT_EQ(shape_of(shape->outputs[0]), "[4]");
  EXPECT_EQ(shape_of(b->outputs[0]), "[]");
  EXPECT_EQ(shape_of(cat->outputs[0]), "[4]");
  EXPECT_EQ(shape_of(r->outputs[0]), "[batch,4,16,80]");
  EXPECT_EQ(shape_of(range->outputs[0]), "[10]");
  EXPECT_EQ(range->outputs[0]->dtype, ir::DType::kFloat32);
  EXPECT_EQ(shape->outputs[0]->dtype, ir::DType::kInt64);
  ASSERT_TRUE(values->count(cat->outputs[0]));
  EXPECT_EQ(values->at(cat->outputs[0]),
            (std::vector<SymbolicInt>{SymbolicInt::of(N), SymbolicInt::known(4), SymbolicInt::known(16),
                                      SymbolicInt::known(80)}));
}

TEST(ShapeInference, BindingsMakeShapesStatic) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", {N, K(3), Dim::symbolic("height"), Dim::symbolic("width")});
  ir::Node* conv = add_op(g, "Conv", "conv", {x, test::add_random(g, "w", {4, 3, 3, 3}, 1)});
  conv->attrs["strides"] = std::vector<int64_t>{2, 2};
  conv->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  ir::Node* pool = add_op(g, "GlobalAveragePool", "gap", {conv->outputs[0]});
  ir::Node* flat = add_op(g, "Flatten", "flat", {pool->outputs[0]});
  ir::Node* fc = add_op(g, "Gemm", "fc", {flat->outputs[0], test::add_random(g, "fcw", {10, 4}, 2)});
  fc->attrs["transB"] = int64_t{1};
  ASSERT_TRUE(infer_shapes(g, {{"height", 64}, {"width", 32}}).ok());
  EXPECT_EQ(shape_of(x), "[batch,3,64,32]");
  EXPECT_EQ(shape_of(conv->outputs[0]), "[batch,4,32,16]");
  EXPECT_EQ(shape_of(pool->outputs[0]), "[batch,4,1,1]");
  EXPECT_EQ(shape_of(flat->outputs[0]), "[batch,4]");
  EXPECT_EQ(shape_of(fc->outputs[0]), "[batch,10]");
}

TEST(ShapeInference, MatMulBroadcastsBatchDims) {
  ir::Graph g;
  ir::Value* a = add_input(g, "a", {N, K(2), K(32), K(400)});
  ir::Value* b = add_input(g, "b", {N, K(2), K(400), K(64)});
  ir::Node* mm = add_op(g, "MatMul", "mm", {a, b});
  ASSERT_TRUE(infer_shapes(g).ok());
  EXPECT_EQ(shape_of(mm->outputs[0]), "[batch,2,32,64]");
}

TEST(ShapeInference, InconsistentShapesNameTheNode) {
  ir::Graph g;
  ir::Value* a = add_input(g, "a", {K(1), K(3)});
  ir::Value* b = add_input(g, "b", {K(1), K(4)});
  add_op(g, "Add", "bad_add", {a, b});
  auto r = infer_shapes(g);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad_add"), std::string::npos) << r.status().message();
}

TEST(ShapeInference, DeclaredShapeContradictionIsAnError) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", {K(1), K(8)});
  ir::Node* relu = add_op(g, "Relu", "relu", {x});
  relu->outputs[0]->shape = Shape{K(1), K(9)};
  auto r = infer_shapes(g);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("relu"), std::string::npos);
}

}  // namespace
}  // namespace kiln::passes
