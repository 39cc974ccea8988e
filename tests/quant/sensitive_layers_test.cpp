// The layers kept float by default on the optimized exports of every task, found from the
// graph structure: compared with the Ultralytics module names they belong to.
#include "quant/sensitive_layers.h"

#include <gtest/gtest.h>

#include <regex>

#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "support/test_support.h"

namespace kiln::quant {
namespace {

// The reason Ultralytics' module names imply, or "" for a layer that may run in INT8.
std::string expected_reason(const std::string& node) {
  static const std::regex head(R"(/model\.\d+/(cv[234]\.\d/cv[234]\.\d\.2/Conv|proto/cv3/conv/Conv))");
  static const std::regex attention(R"(/m\.0/attn/(qkv|pe|proj)/conv/Conv)");
  if (node == "/model.0/conv/Conv") return "sensitive: first conv";
  if (node.ends_with("/dfl/conv/Conv")) return "sensitive: DFL";
  if (std::regex_search(node, head)) return "sensitive: detection head output";
  if (std::regex_search(node, attention)) return "sensitive: attention";
  return {};
}

class SensitiveLayersOf : public ::testing::TestWithParam<const char*> {};

TEST_P(SensitiveLayersOf, MatchTheModuleNames) {
  KILN_REQUIRE_ASSETS();
  auto g = onnx::import_model(kiln::test::asset(GetParam()));
  ASSERT_TRUE(g.ok()) << g.status().message();
  Status st = passes::optimize(*g, {});
  ASSERT_TRUE(st.ok()) << st.message();
  const std::map<const ir::Node*, std::string> sensitive = sensitive_layers(*g);
  size_t quantizable = 0, kept = 0;
  for (const auto& node : g->nodes()) {
    if (!is_quantizable(*node)) continue;
    ++quantizable;
    auto it = sensitive.find(node.get());
    const std::string got = it == sensitive.end() ? "" : it->second;
    EXPECT_EQ(got, expected_reason(node->name)) << node->name;
    kept += !got.empty();
  }
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, quantizable / 4) << "most convs should run in INT8";
}

INSTANTIATE_TEST_SUITE_P(Exports, SensitiveLayersOf,
                         ::testing::Values("models/yolo11n.onnx", "models/yolov8n.onnx", "models/yolov8n-seg.onnx",
                                           "models/yolo11n-pose.onnx", "models/yolo11n-obb-random.onnx",
                                           "models/yolo11n-cls-random.onnx"));

}  // namespace
}  // namespace kiln::quant
