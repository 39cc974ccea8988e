// insert_qdq on a small hand-built graph: which layers it quantizes, the Q/DQ pairs and the
// per-channel weight scales it inserts, and its errors.
#include <gtest/gtest.h>

#include "backends/cpu/executor.h"
#include "passes/pass_test_util.h"
#include "passes/shape_inference.h"
#include "quant/quantize_graph.h"
#include "support/test_support.h"

namespace kiln::quant {
namespace {

using passes::test::add_input;
using passes::test::add_op;
using passes::test::add_random;
using passes::test::count_ops;

// x -> stem Conv -> SiLU -> y; y is read by convs a and b, a + b -> head Conv -> output.
// stem reads the graph input (first conv) and head feeds the output (head output).
struct SmallNet {
  ir::Graph g;
  ir::Node* stem;
  ir::Node* a;
  ir::Node* b;
  ir::Node* head;
  ir::Value* y;
};

// Conv a's weight [3,2,1,1]: channel 0 amax 254 (scale 2: 127 -> 63.5 -> 64 and -254 -> -127),
// channel 1 amax 63.5 (scale 0.5: -31.75 -> -63.5 -> -64), channel 2 all zero (scale 1).
const std::vector<float> kWeightA = {127.f, -254.f, 63.5f, -31.75f, 0.f, 0.f};

std::unique_ptr<SmallNet> small_net() {
  auto n = std::make_unique<SmallNet>();
  ir::Graph& g = n->g;
  ir::Value* x = add_input(g, "x", ir::make_shape({1, 2, 4, 4}));
  n->stem = add_op(g, "Conv", "stem", {x, add_random(g, "stem_w", {2, 2, 3, 3}, 1), add_random(g, "stem_b", {2}, 2)});
  n->stem->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  n->y = add_op(g, "SiLU", "act", {n->stem->outputs[0]})->outputs[0];
  n->a = add_op(g, "Conv", "a", {n->y, g.add_constant("a_w", ir::Tensor::from_vector<float>({3, 2, 1, 1}, kWeightA))});
  n->b = add_op(g, "Conv", "b", {n->y, add_random(g, "b_w", {3, 2, 1, 1}, 3)});
  ir::Node* sum = add_op(g, "Add", "sum", {n->a->outputs[0], n->b->outputs[0]});
  n->head = add_op(g, "Conv", "head", {sum->outputs[0], add_random(g, "head_w", {4, 3, 1, 1}, 4)});
  g.outputs = {n->head->outputs[0]};
  EXPECT_TRUE(passes::infer_shapes(g).ok());
  return n;
}

const ir::Tensor& constant(const ir::Value* v) {
  EXPECT_TRUE(v && v->is_constant());
  return *v->initializer;
}

TEST(InsertQdq, QuantizesTheMiddleLayersWithOneSharedActivationPair) {
  auto n = small_net();
  auto choices = insert_qdq(n->g, {{n->y->name, 2.54f}}, {});
  ASSERT_TRUE(choices.ok()) << choices.status().message();
  ASSERT_EQ(choices->size(), 4u);
  EXPECT_EQ((*choices)[0].node, "stem");
  EXPECT_EQ((*choices)[0].precision, LayerPrecision::kFloat);
  EXPECT_EQ((*choices)[0].reason, "sensitive: first conv");
  EXPECT_EQ((*choices)[1].node, "a");
  EXPECT_EQ((*choices)[1].precision, LayerPrecision::kInt8);
  EXPECT_EQ((*choices)[1].reason, "calibrated");
  EXPECT_EQ((*choices)[2].precision, LayerPrecision::kInt8);
  EXPECT_EQ((*choices)[3].reason, "sensitive: detection head output");
  EXPECT_EQ(to_string((*choices)[1].precision), "int8");

  // One Q/DQ pair for y, read by both convs; one weight DQ each.
  EXPECT_EQ(count_ops(n->g, "QuantizeLinear"), 1u);
  EXPECT_EQ(count_ops(n->g, "DequantizeLinear"), 3u);
  ir::Value* xdq = n->a->input(0);
  EXPECT_EQ(xdq, n->b->input(0));
  ASSERT_TRUE(xdq->producer && xdq->producer->op_type == "DequantizeLinear");
  const ir::Node* q = xdq->producer->input(0)->producer;
  ASSERT_TRUE(q && q->op_type == "QuantizeLinear");
  EXPECT_EQ(q->input(0), n->y);
  EXPECT_EQ(xdq->producer->input(0)->dtype, ir::DType::kInt8);
  EXPECT_FLOAT_EQ(constant(q->input(1)).data<float>()[0], 2.54f / 127);
  EXPECT_EQ(constant(q->input(2)).dtype(), ir::DType::kInt8);
  EXPECT_EQ(constant(q->input(2)).data<int8_t>()[0], 0);
  EXPECT_EQ(n->stem->input(0)->name, "x");  // float layers keep their inputs

  // Per-output-channel weights, hand-computed (round half to even).
  const ir::Node* wdq = n->a->input(1)->producer;
  ASSERT_TRUE(wdq && wdq->op_type == "DequantizeLinear");
  EXPECT_EQ(wdq->attr_int("axis", 1), 0);
  const ir::Tensor& wq = constant(wdq->input(0));
  ASSERT_EQ(wq.dtype(), ir::DType::kInt8);
  EXPECT_EQ(std::vector<int8_t>(wq.values<int8_t>().begin(), wq.values<int8_t>().end()),
            (std::vector<int8_t>{64, -127, 127, -64, 0, 0}));
  const ir::Tensor& ws = constant(wdq->input(1));
  EXPECT_EQ(std::vector<float>(ws.values<float>().begin(), ws.values<float>().end()), (std::vector<float>{2.f, 0.5f, 1.f}));
  EXPECT_EQ(n->g.find_value("a_w"), nullptr);  // the float weight is gone

  // Still a runnable graph with its shapes.
  ASSERT_TRUE(passes::infer_shapes(n->g).ok());
  auto exec = cpu::Executor::create(n->g);
  ASSERT_TRUE(exec.ok()) << exec.status().message();
  EXPECT_TRUE(exec->run({passes::test::random_tensor({1, 2, 4, 4}, 5)}).ok());
}

TEST(InsertQdq, QdqGraphStaysCloseToTheFloatGraph) {
  auto ref = small_net();
  auto n = small_net();
  const ir::Tensor in = passes::test::random_tensor({1, 2, 4, 4}, 9);
  auto want = cpu::Executor::create(ref->g)->run({in});
  ASSERT_TRUE(want.ok());
  // y = SiLU(stem(x)) stays within +-2 for these weights and inputs.
  QuantizeOptions keep_a_float;
  keep_a_float.keep_float = {"a"};  // a's weights (hundreds) would swamp the comparison
  ASSERT_TRUE(insert_qdq(n->g, {{n->y->name, 2.0f}}, keep_a_float).ok());
  auto got = cpu::Executor::create(n->g)->run({in});
  ASSERT_TRUE(got.ok());
  const auto d = kiln::test::compare((*got)[0], (*want)[0]);
  EXPECT_GT(d.max_abs, 0.0);           // b really runs on quantized values
  EXPECT_LT(d.max_abs, 0.02 * d.range);  // and only by rounding
}

TEST(InsertQdq, ExcludePatternsAndKeepFloatNamesStayFloat) {
  auto n = small_net();
  QuantizeOptions options;
  options.exclude = {"no-match", "[b]"};
  options.keep_float = {"a"};
  auto choices = insert_qdq(n->g, {}, options);
  ASSERT_TRUE(choices.ok()) << choices.status().message();
  EXPECT_EQ((*choices)[1].reason, "kept float by sensitivity analysis");
  EXPECT_EQ((*choices)[2].reason, "excluded by --int8-exclude '[b]'");
  for (const LayerChoice& c : *choices) EXPECT_EQ(c.precision, LayerPrecision::kFloat) << c.node;
  EXPECT_EQ(count_ops(n->g, "QuantizeLinear"), 0u);
  EXPECT_FALSE(has_qdq(n->g));
}

TEST(InsertQdq, SensitiveLayersQuantizeWhenAsked) {
  auto n = small_net();
  QuantizeOptions options;
  options.keep_sensitive_float = false;
  ActivationRanges ranges = {{"x", 1.f}, {n->y->name, 2.f}, {n->head->input(0)->name, 3.f}};
  auto choices = insert_qdq(n->g, ranges, options);
  ASSERT_TRUE(choices.ok()) << choices.status().message();
  for (const LayerChoice& c : *choices) EXPECT_EQ(c.precision, LayerPrecision::kInt8) << c.node;
  EXPECT_EQ(count_ops(n->g, "QuantizeLinear"), 3u);
  std::vector<LayerChoice> described = describe_qdq(n->g);
  ASSERT_EQ(described.size(), 4u);
  for (const LayerChoice& c : described) EXPECT_EQ(c.reason, "QDQ model") << c.node;
}

TEST(InsertQdq, MissingRangeNamesNodeAndValueAndLeavesTheGraph) {
  auto n = small_net();
  const size_t nodes = n->g.nodes().size();
  auto choices = insert_qdq(n->g, {{"unrelated", 1.f}}, {});
  ASSERT_FALSE(choices.ok());
  EXPECT_EQ(choices.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(choices.status().message().find("node 'a'"), std::string::npos) << choices.status().message();
  EXPECT_NE(choices.status().message().find("'" + n->y->name + "'"), std::string::npos) << choices.status().message();
  EXPECT_EQ(n->g.nodes().size(), nodes);

  auto bad = insert_qdq(n->g, {{n->y->name, -1.f}}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not a finite amax"), std::string::npos) << bad.status().message();
}

TEST(CalibrationPoints, EveryConvInputOnceInGraphOrder) {
  auto n = small_net();
  EXPECT_EQ(calibration_points(n->g), (std::vector<std::string>{"x", n->y->name, n->head->input(0)->name}));
  EXPECT_FALSE(has_qdq(n->g));
  for (const LayerChoice& c : describe_qdq(n->g)) EXPECT_EQ(c.precision, LayerPrecision::kFloat);
}

}  // namespace
}  // namespace kiln::quant
