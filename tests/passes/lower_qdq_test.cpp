// lower_qdq on hand-built QDQ graphs: which patterns become QConvInt8, what stays, and the
// lowered graph's outputs against the same graph run op by op (DequantizeLinear -> float
// Conv -> QuantizeLinear).
#include "passes/lower_qdq.h"

#include <gtest/gtest.h>

#include "backends/cpu/executor.h"
#include "ir/qconv_int8.h"
#include "pass_test_util.h"
#include "passes/shape_inference.h"
#include "support/test_support.h"

namespace kiln::passes {
namespace {

using test::add_input;
using test::add_op;
using test::count_ops;

ir::Value* scalar(ir::Graph& g, const std::string& name, float v) { return g.add_constant(name, ir::Tensor::scalar<float>(v)); }
ir::Value* zero_point(ir::Graph& g, const std::string& name, int8_t v) {
  return g.add_constant(name, ir::Tensor::scalar<int8_t>(v));
}

// Q -> DQ of a float value.
ir::Value* qdq(ir::Graph& g, const std::string& name, ir::Value* x, float scale, int8_t zero) {
  ir::Value* s = scalar(g, name + "_s", scale);
  ir::Value* z = zero_point(g, name + "_z", zero);
  ir::Node* q = add_op(g, "QuantizeLinear", name + "_q", {x, s, z});
  return add_op(g, "DequantizeLinear", name + "_dq", {q->outputs[0], s, z})->outputs[0];
}

// Random int8 weights [m,c,k,k] with per-channel scales behind a DequantizeLinear (axis 0).
ir::Value* int8_weight(ir::Graph& g, const std::string& name, int64_t m, int64_t c, int64_t k, uint32_t seed,
                       int8_t zero = 0) {
  const ir::Tensor f = test::random_tensor({m, c, k, k}, seed, -127.f, 127.f);
  ir::Tensor q(ir::DType::kInt8, f.shape());
  for (int64_t i = 0; i < f.numel(); ++i) q.data<int8_t>()[i] = static_cast<int8_t>(std::lrint(f.data<float>()[i]));
  std::vector<float> scales;
  for (int64_t i = 0; i < m; ++i) scales.push_back(0.002f * static_cast<float>(i + 1));
  std::vector<ir::Value*> in = {g.add_constant(name + "_q", std::move(q)),
                                g.add_constant(name + "_s", ir::Tensor::from_vector<float>({m}, scales))};
  if (zero != 0) in.push_back(g.add_constant(name + "_z", ir::Tensor::from_vector<int8_t>({m}, std::vector<int8_t>(m, zero))));
  ir::Node* dq = add_op(g, "DequantizeLinear", name + "_dq", in);
  dq->attrs["axis"] = int64_t{0};
  return dq->outputs[0];
}

// x -> Q/DQ -> Conv 3x3 (+bias) -> SiLU -> Add(x) -> Q/DQ -> y: one QConvInt8 with everything
// fused and an int8 output.
struct Block {
  ir::Graph g;
  float y_scale = 0.05f;
};

std::unique_ptr<Block> residual_block(int8_t x_zero = 0, int8_t w_zero = 0) {
  auto b = std::make_unique<Block>();
  ir::Graph& g = b->g;
  ir::Value* x = add_input(g, "x", ir::make_shape({1, 4, 6, 6}));
  ir::Value* xdq = qdq(g, "x", x, 0.03f, x_zero);
  ir::Node* conv = add_op(g, "Conv", "conv", {xdq, int8_weight(g, "w", 4, 4, 3, 1, w_zero), test::add_random(g, "bias", {4}, 2)});
  conv->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  ir::Node* act = add_op(g, "SiLU", "act", {conv->outputs[0]});
  ir::Node* add = add_op(g, "Add", "add", {x, act->outputs[0]});
  g.outputs = {qdq(g, "y", add->outputs[0], b->y_scale, 3)};
  EXPECT_TRUE(infer_shapes(g).ok());
  return b;
}

std::vector<ir::Tensor> run(const ir::Graph& g, const ir::Tensor& in) {
  auto exec = cpu::Executor::create(g);
  EXPECT_TRUE(exec.ok()) << exec.status().message();
  if (!exec.ok()) return {};
  auto out = exec->run({in});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? std::move(*out) : std::vector<ir::Tensor>{};
}

const ir::Node* only(const ir::Graph& g, const std::string& op) {
  for (const auto& n : g.nodes())
    if (n->op_type == op) return n.get();
  return nullptr;
}

TEST(LowerQdq, FusesConvSiluResidualAndRequantization) {
  auto ref = residual_block(-7);
  auto b = residual_block(-7);
  ASSERT_TRUE(lower_qdq(b->g).ok());
  EXPECT_EQ(count_ops(b->g, "QConvInt8"), 1u);
  EXPECT_EQ(count_ops(b->g, "Conv"), 0u);
  EXPECT_EQ(count_ops(b->g, "SiLU"), 0u);
  EXPECT_EQ(count_ops(b->g, "Add"), 0u);
  EXPECT_EQ(count_ops(b->g, "QuantizeLinear"), 1u);    // x's, at the float -> int8 boundary
  EXPECT_EQ(count_ops(b->g, "DequantizeLinear"), 1u);  // y's, at the int8 -> float boundary
  const ir::Node* qc = only(b->g, "QConvInt8");
  ASSERT_NE(qc, nullptr);
  EXPECT_EQ(qc->name, "conv");
  EXPECT_EQ(qc->attr_string("activation", ""), "SiLU");
  EXPECT_EQ(qc->input(ir::qconv::kResidual)->name, "x");
  EXPECT_EQ(qc->outputs[0]->dtype, ir::DType::kInt8);
  EXPECT_EQ(ir::shape_to_string(*qc->outputs[0]->shape), "[1,4,6,6]");

  // The int8 results differ from op-by-op only where the float Conv's rounding (sgemm order)
  // puts a value on the other side of a rounding boundary: by one step, rarely.
  const ir::Tensor in = test::random_tensor({1, 4, 6, 6}, 11, -3.f, 3.f);
  const auto want = run(ref->g, in);
  const auto got = run(b->g, in);
  ASSERT_EQ(got.size(), 1u);
  const auto d = kiln::test::compare(got[0], want[0]);
  EXPECT_LE(d.max_abs, b->y_scale * 1.001);
  int64_t differ = 0;
  for (int64_t i = 0; i < got[0].numel(); ++i) differ += got[0].data<float>()[i] != want[0].data<float>()[i];
  EXPECT_LE(differ, got[0].numel() / 50) << differ << " of " << got[0].numel() << " differ";
}

TEST(LowerQdq, FloatOutputWhenAFloatOpAlsoReadsTheConv) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", ir::make_shape({1, 3, 5, 5}));
  ir::Node* conv = add_op(g, "Conv", "conv", {qdq(g, "x", x, 0.02f, 0), int8_weight(g, "w", 2, 3, 1, 3)});
  ir::Value* y = qdq(g, "y", conv->outputs[0], 0.1f, 0);
  ir::Node* sig = add_op(g, "Sigmoid", "sig", {conv->outputs[0]});
  g.outputs = {y, sig->outputs[0]};
  ASSERT_TRUE(infer_shapes(g).ok());
  const ir::Tensor in = test::random_tensor({1, 3, 5, 5}, 4);
  const auto want = run(g, in);
  ASSERT_TRUE(lower_qdq(g).ok());
  const ir::Node* qc = only(g, "QConvInt8");
  ASSERT_NE(qc, nullptr);
  EXPECT_EQ(qc->outputs[0]->dtype, ir::DType::kFloat32);
  EXPECT_EQ(qc->inputs.size(), ir::qconv::kWScale + 1);  // no bias, residual or requantization
  EXPECT_EQ(count_ops(g, "QuantizeLinear"), 2u);          // y's stays with the float output
  const auto got = run(g, in);
  ASSERT_EQ(got.size(), 2u);
  // Float: exact integer sums vs float sums of the same products.
  const auto d = kiln::test::compare(got[1], want[1]);
  EXPECT_LE(d.max_abs, 1e-5);
}

TEST(LowerQdq, Int32BiasThroughDequantizeLinearBecomesFloat) {
  ir::Graph g;
  ir::Value* x = add_input(g, "x", ir::make_shape({1, 2, 3, 3}));
  ir::Value* bq = g.add_constant("b_q", ir::Tensor::from_vector<int32_t>({2}, {100, -40}));
  ir::Node* bdq = add_op(g, "DequantizeLinear", "b_dq", {bq, scalar(g, "b_s", 0.25f)});
  ir::Node* conv = add_op(g, "Conv", "conv", {qdq(g, "x", x, 0.02f, 0), int8_weight(g, "w", 2, 2, 1, 5), bdq->outputs[0]});
  g.outputs = {conv->outputs[0]};
  ASSERT_TRUE(infer_shapes(g).ok());
  ASSERT_TRUE(lower_qdq(g).ok());
  const ir::Node* qc = only(g, "QConvInt8");
  ASSERT_NE(qc, nullptr);
  const ir::Value* bias = qc->input(ir::qconv::kBias);
  ASSERT_TRUE(bias && bias->is_constant());
  const auto b = bias->initializer->values<float>();
  EXPECT_EQ(std::vector<float>(b.begin(), b.end()), (std::vector<float>{25.0f, -10.0f}));
  EXPECT_EQ(count_ops(g, "DequantizeLinear"), 0u);
}

TEST(LowerQdq, AsymmetricWeightsAndFloatConvsStay) {
  auto b = residual_block(0, 5);  // weight zero point 5: not a symmetric int8 kernel
  ASSERT_TRUE(lower_qdq(b->g).ok());
  EXPECT_EQ(count_ops(b->g, "QConvInt8"), 0u);
  EXPECT_EQ(count_ops(b->g, "Conv"), 1u);

  ir::Graph g;
  ir::Value* x = add_input(g, "x", ir::make_shape({1, 2, 3, 3}));
  add_op(g, "Conv", "conv", {x, test::add_random(g, "w", {2, 2, 1, 1}, 1)});
  g.outputs = {g.nodes().back()->outputs[0]};
  ASSERT_TRUE(lower_qdq(g).ok());
  EXPECT_EQ(count_ops(g, "Conv"), 1u);
}

}  // namespace
}  // namespace kiln::passes
