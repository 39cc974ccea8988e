// Older-opset forms are rewritten into the latest ONNX form (src/onnx/opset_normalization.cpp).
#include <gtest/gtest.h>

#include "model_builder.h"
#include "support/test_support.h"

namespace kiln::onnx {
namespace {

using ::onnx::TensorProto;

// The single node of an imported graph (an empty Node, after a test failure, if none).
const ir::Node& only_node(const Result<ir::Graph>& g) {
  static const ir::Node kNone;
  if (!g.ok()) {
    ADD_FAILURE() << g.status().message();
    return kNone;
  }
  EXPECT_EQ(g->nodes().size(), 1u);
  return g->nodes().empty() ? kNone : *g->nodes().front();
}

std::vector<int64_t> const_input(const ir::Node& n, size_t i) {
  const ir::Value* v = n.input(i);
  EXPECT_TRUE(v && v->is_constant()) << n.name << " input " << i;
  if (!v || !v->is_constant()) return {};
  EXPECT_EQ(v->initializer->dtype(), ir::DType::kInt64);
  return v->initializer->as_int64();
}

TEST(OpsetNormalization, SplitAttributeBecomesInputBeforeOpset13) {
  ::onnx::ModelProto m = test::make_model(11);
  test::add_input(m, "x", {1, 32, 8, 8});
  auto* n = test::add_node(m, "Split", "split", {"x"}, {"a", "b"});
  test::set_int(n, "axis", 1);
  test::set_ints(n, "split", {12, 20});
  test::add_output(m, "a");
  test::add_output(m, "b");
  Result<ir::Graph> g = test::import_proto(m);
  const ir::Node& node = only_node(g);
  EXPECT_FALSE(node.has_attr("split"));
  EXPECT_EQ(node.attr_int("axis", 0), 1);
  EXPECT_EQ(const_input(node, 1), (std::vector<int64_t>{12, 20}));
}

TEST(OpsetNormalization, SplitNumOutputsStaysAnAttribute) {
  ::onnx::ModelProto m = test::make_model(18);
  test::add_input(m, "x", {1, 32});
  auto* n = test::add_node(m, "Split", "split", {"x"}, {"a", "b"});
  test::set_int(n, "num_outputs", 2);
  test::add_output(m, "a");
  test::add_output(m, "b");
  Result<ir::Graph> g = test::import_proto(m);
  const ir::Node& node = only_node(g);
  EXPECT_EQ(node.attr_int("num_outputs", 0), 2);
  EXPECT_EQ(node.inputs.size(), 1u);
}

TEST(OpsetNormalization, UnsqueezeAndReduceMeanAxes) {
  ::onnx::ModelProto m = test::make_model(11);
  test::add_input(m, "x", {2, 3});
  test::set_ints(test::add_node(m, "Unsqueeze", "unsq", {"x"}, {"u"}), "axes", {0, 3});
  auto* rm = test::add_node(m, "ReduceMean", "mean", {"u"}, {"y"});
  test::set_ints(rm, "axes", {2, 3});
  test::set_int(rm, "keepdims", 1);
  test::add_output(m, "y");
  Result<ir::Graph> g = test::import_proto(m);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const ir::Node& unsq = *g->nodes()[0];
  const ir::Node& mean = *g->nodes()[1];
  EXPECT_FALSE(unsq.has_attr("axes"));
  EXPECT_EQ(const_input(unsq, 1), (std::vector<int64_t>{0, 3}));
  EXPECT_FALSE(mean.has_attr("axes"));
  EXPECT_EQ(mean.attr_int("keepdims", 0), 1);
  EXPECT_EQ(const_input(mean, 1), (std::vector<int64_t>{2, 3}));
}

TEST(OpsetNormalization, ReduceMeanAxesInputAtOpset18IsUntouched) {
  ::onnx::ModelProto m = test::make_model(18);
  test::add_input(m, "x", {1, 4, 2, 2});
  auto* axes = test::add_initializer(m, "axes", TensorProto::INT64, {2});
  axes->add_int64_data(2);
  axes->add_int64_data(3);
  test::add_node(m, "ReduceMean", "mean", {"x", "axes"}, {"y"});
  test::add_output(m, "y");
  Result<ir::Graph> g = test::import_proto(m);
  const ir::Node& node = only_node(g);
  EXPECT_EQ(node.input(1)->name, "axes");
  EXPECT_EQ(const_input(node, 1), (std::vector<int64_t>{2, 3}));
}

TEST(OpsetNormalization, SliceAttributesBecomeInputsBeforeOpset10) {
  ::onnx::ModelProto m = test::make_model(9);
  test::add_input(m, "x", {4, 10});
  auto* n = test::add_node(m, "Slice", "slice", {"x"}, {"y"});
  test::set_ints(n, "starts", {1});
  test::set_ints(n, "ends", {7});
  test::set_ints(n, "axes", {1});
  test::add_output(m, "y");
  Result<ir::Graph> g = test::import_proto(m);
  const ir::Node& node = only_node(g);
  EXPECT_TRUE(node.attrs.empty());
  ASSERT_EQ(node.inputs.size(), 4u);
  EXPECT_EQ(const_input(node, 1), std::vector<int64_t>{1});
  EXPECT_EQ(const_input(node, 2), std::vector<int64_t>{7});
  EXPECT_EQ(const_input(node, 3), std::vector<int64_t>{1});
}

TEST(OpsetNormalization, Resize10GetsRoiSlotAndAsymmetricCoordinates) {
  ::onnx::ModelProto m = test::make_model(10);
  test::add_input(m, "x", {1, 3, 4, 4});
  auto* scales = test::add_initializer(m, "scales", TensorProto::FLOAT, {4});
  for (float s : {1.f, 1.f, 2.f, 2.f}) scales->add_float_data(s);
  test::add_attr(test::add_node(m, "Resize", "up", {"x", "scales"}, {"y"}), "mode", ::onnx::AttributeProto::STRING)
      ->set_s("nearest");
  test::add_output(m, "y");
  Result<ir::Graph> g = test::import_proto(m);
  const ir::Node& node = only_node(g);
  ASSERT_EQ(node.inputs.size(), 3u);
  EXPECT_EQ(node.inputs[0]->name, "x");
  EXPECT_EQ(node.inputs[1], nullptr);
  EXPECT_EQ(node.inputs[2]->name, "scales");
  EXPECT_EQ(node.attr_string("coordinate_transformation_mode", ""), "asymmetric");
  EXPECT_EQ(node.attr_string("nearest_mode", ""), "floor");
}

Result<ir::Graph> legacy_softmax(int64_t opset, std::vector<test::DimSpec> dims, std::optional<int64_t> axis) {
  ::onnx::ModelProto m = test::make_model(opset);
  test::add_input(m, "x", dims);
  auto* n = test::add_node(m, "Softmax", "attn/softmax", {"x"}, {"y"});
  if (axis) test::set_int(n, "axis", *axis);
  test::add_output(m, "y");
  return test::import_proto(m, "sm.onnx");
}

TEST(OpsetNormalization, LegacySoftmaxOverLastAxisIsKept) {
  EXPECT_EQ(only_node(legacy_softmax(12, {1, 2, 100, 100}, 3)).attr_int("axis", 0), 3);
  EXPECT_EQ(only_node(legacy_softmax(12, {1, 2, 100, 100}, -1)).attr_int("axis", 0), -1);
  // Default axis 1 on a 2-D input is the last axis.
  EXPECT_EQ(only_node(legacy_softmax(11, {4, 10}, std::nullopt)).attr_int("axis", 0), 1);
  // Every dim after the axis is 1: flattening changes nothing.
  EXPECT_EQ(only_node(legacy_softmax(11, {2, 5, 1, 1}, 1)).attr_int("axis", 0), 1);
  EXPECT_EQ(only_node(legacy_softmax(11, {2, 5, 1, 1}, -3)).attr_int("axis", 0), 1);
  // An unknown rank is fine for axis -1.
  EXPECT_EQ(only_node(legacy_softmax(11, {"N", ""}, -1)).attr_int("axis", 0), -1);
}

TEST(OpsetNormalization, LegacySoftmaxOverFlattenedAxesIsUnsupported) {
  auto expect_refused = [](const Result<ir::Graph>& r) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
    EXPECT_EQ(r.status().message().rfind("sm.onnx: Softmax node 'attn/softmax' (opset 1", 0), 0u) << r.status().message();
  };
  expect_refused(legacy_softmax(12, {1, 16, 4, 8400}, 1));
  expect_refused(legacy_softmax(11, {2, 3, 4}, std::nullopt));
  expect_refused(legacy_softmax(12, {"N", 16, 4}, 1));  // dims after the axis known, not all 1
  expect_refused(legacy_softmax(12, {"N", 16, ""}, 1));  // a dim after the axis unknown
}

TEST(OpsetNormalization, ModernSoftmaxIsUntouched) {
  Result<ir::Graph> g = legacy_softmax(13, {1, 16, 4, 8400}, 1);
  EXPECT_EQ(only_node(g).attr_int("axis", 0), 1);
}

TEST(OpsetNormalization, RealOpset12Models) {
  KILN_REQUIRE_ASSETS();
  Result<ir::Graph> det = import_model(kiln::test::asset("models/int8/yolo11n_320_int8dyn.onnx"));
  ASSERT_TRUE(det.ok()) << det.status().message();
  int splits = 0, softmaxes = 0;
  for (const auto& n : det->nodes()) {
    if (n->op_type == "Split") {
      ++splits;
      EXPECT_FALSE(n->has_attr("split")) << n->name;
      EXPECT_EQ(const_input(*n, 1).size(), n->outputs.size()) << n->name;
    }
    if (n->op_type == "Softmax") {
      ++softmaxes;
      EXPECT_EQ(n->attr_int("axis", 0), 3) << n->name;
    }
  }
  EXPECT_EQ(splits, 10);
  EXPECT_EQ(softmaxes, 2);
  const ir::Value* split_sizes = nullptr;
  for (const auto& n : det->nodes())
    if (n->name == "/model.10/m/m.0/attn/Split") split_sizes = n->input(1);
  ASSERT_NE(split_sizes, nullptr);
  EXPECT_EQ(split_sizes->initializer->as_int64(), (std::vector<int64_t>{32, 32, 64}));

  Result<ir::Graph> reid = import_model(kiln::test::asset("models/reid/osnet_x0_25_msmt17.onnx"));
  ASSERT_TRUE(reid.ok()) << reid.status().message();
  for (const auto& n : reid->nodes())
    if (n->op_type == "Unsqueeze") {
      EXPECT_EQ(const_input(*n, 1), std::vector<int64_t>{0});
    }
}

}  // namespace
}  // namespace kiln::onnx
