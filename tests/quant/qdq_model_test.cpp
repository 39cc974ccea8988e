// An ONNX QDQ model through passes::optimize: the DequantizeLinear of every constant int8
// weight survives constant folding, and describe_qdq reports its convs as INT8.
#include <gtest/gtest.h>

#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "quant/quantize_graph.h"
#include "support/test_support.h"

namespace kiln::quant {
namespace {

constexpr const char* kQdqModel = "models/int8/yolo11n-pose_640_int8qdq_BROKEN-SCORES.onnx";

TEST(QdqModel, OptimizeKeepsInt8WeightsBehindDequantizeLinear) {
  KILN_REQUIRE_ASSETS();
  auto g = onnx::import_model(kiln::test::asset(kQdqModel));
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_TRUE(passes::optimize(*g, {}).ok());
  EXPECT_TRUE(has_qdq(*g));
  size_t convs = 0;
  for (const auto& node : g->nodes()) {
    if (node->op_type != "Conv") continue;
    ++convs;
    const ir::Value* w = node->input(1);
    ASSERT_TRUE(w->producer && w->producer->op_type == "DequantizeLinear") << node->name;
    const ir::Value* wq = w->producer->input(0);
    EXPECT_TRUE(wq->is_constant() && wq->dtype == ir::DType::kInt8) << node->name;
  }
  EXPECT_EQ(convs, 97u);
  const std::vector<LayerChoice> choices = describe_qdq(*g);
  ASSERT_EQ(choices.size(), convs);
  for (const LayerChoice& c : choices) {
    EXPECT_EQ(c.precision, LayerPrecision::kInt8) << c.node;
    EXPECT_EQ(c.reason, "QDQ model") << c.node;
  }
}

}  // namespace
}  // namespace kiln::quant
