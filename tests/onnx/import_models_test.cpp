// Imports every ONNX model in the assets and checks the graph against facts read
// independently by tests/tools/onnx_facts.py (the `onnx` Python package).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <unordered_set>

#include "ir/model_metadata.h"
#include "ir/op_set.h"
#include "onnx/importer.h"
#include "onnx_test_util.h"
#include "support/test_support.h"

namespace kiln::onnx {
namespace {

using nlohmann::json;

ir::Shape shape_from_json(const json& dims) {
  ir::Shape s;
  for (const auto& d : dims) {
    if (d.is_number_integer()) s.push_back(ir::Dim::known(d.get<int64_t>()));
    else if (d.is_string()) s.push_back(ir::Dim::symbolic(d.get<std::string>()));
    else s.push_back(ir::Dim{});
  }
  return s;
}

void expect_values_match(const std::vector<ir::Value*>& got, const json& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i]->name, want[i]["name"].get<std::string>()) << what << " " << i;
    if (want[i]["dims"].is_null()) continue;
    ASSERT_TRUE(got[i]->shape.has_value()) << what << " " << got[i]->name;
    EXPECT_EQ(ir::shape_to_string(*got[i]->shape), ir::shape_to_string(shape_from_json(want[i]["dims"])))
        << what << " " << got[i]->name;
  }
}

class ImportModel : public ::testing::TestWithParam<const char*> {};

TEST_P(ImportModel, MatchesIndependentReader) {
  KILN_REQUIRE_ASSETS();
  const std::filesystem::path path = kiln::test::asset("models") / GetParam();
  json facts = test::run_python_json("onnx_facts.py", path);
  ASSERT_FALSE(facts.is_null() || facts.is_discarded()) << "onnx_facts.py failed on " << path;

  Result<ir::Graph> result = import_model(path);
  ASSERT_TRUE(result.ok()) << result.status().message();
  const ir::Graph& g = *result;

  EXPECT_EQ(g.source_path, path.string());
  EXPECT_EQ(g.opset, facts["opset"].get<int64_t>());
  EXPECT_EQ(g.metadata, (facts["metadata"].get<std::map<std::string, std::string>>()));

  // Ultralytics metadata parses to what Python's ast.literal_eval reads.
  Result<ir::ModelMetadata> meta = ir::parse_model_metadata(g.metadata);
  ASSERT_TRUE(meta.ok()) << meta.status().message();
  const json& lit = facts["parsed_metadata"];
  if (lit.contains("names")) {
    EXPECT_EQ(meta->names, lit["names"].get<std::vector<std::string>>());
  }
  if (lit.contains("imgsz")) {
    EXPECT_EQ(meta->imgsz_h, lit["imgsz"][0].get<int64_t>());
    EXPECT_EQ(meta->imgsz_w, lit["imgsz"][1].get<int64_t>());
  }
  if (lit.contains("stride")) {
    EXPECT_EQ(meta->stride, lit["stride"].get<int64_t>());
  }
  if (lit.contains("kpt_shape")) {
    EXPECT_EQ(meta->kpt_shape, lit["kpt_shape"].get<std::vector<int64_t>>());
  }

  // Nodes: Constant nodes are gone, everything else kept with its op type.
  EXPECT_EQ(g.nodes().size(), facts["node_count"].get<size_t>());
  std::map<std::string, int64_t> histogram;
  std::set<std::string> node_names;
  for (const auto& n : g.nodes()) {
    ++histogram[n->op_type];
    EXPECT_TRUE(ir::is_supported_op(n->op_type)) << n->op_type;
    EXPECT_FALSE(n->name.empty());
    EXPECT_TRUE(node_names.insert(n->name).second) << "duplicate node name " << n->name;
  }
  EXPECT_EQ(histogram, (facts["op_histogram"].get<std::map<std::string, int64_t>>()));

  // Initializers and Constant-node outputs are constant values of the right shape.
  int64_t elements = 0;
  for (const auto& [name, dims] : facts["initializers"].items()) {
    const ir::Value* v = g.find_value(name);
    ASSERT_NE(v, nullptr) << name;
    ASSERT_TRUE(v->is_constant()) << name;
    EXPECT_EQ(v->initializer->shape(), dims.get<std::vector<int64_t>>()) << name;
    elements += v->initializer->numel();
  }
  EXPECT_EQ(elements, facts["initializer_elements"].get<int64_t>());
  for (const auto& name : facts["constant_outputs"]) {
    const ir::Value* v = g.find_value(name.get<std::string>());
    ASSERT_NE(v, nullptr) << name;
    EXPECT_TRUE(v->is_constant()) << name;
  }

  // Sampled weights (the external ones when the model has external data) agree in value.
  for (const auto& s : facts["samples"]) {
    const ir::Value* v = g.find_value(s["name"].get<std::string>());
    ASSERT_TRUE(v && v->is_constant()) << s["name"];
    ir::Tensor f = v->initializer->to_float32();
    double sum = 0;
    for (float x : f.values<float>()) sum += x;
    const double want_sum = s["sum"].get<double>();
    EXPECT_NEAR(sum, want_sum, 1e-4 * (1 + std::fabs(want_sum))) << s["name"];
    const auto first = s["first"].get<std::vector<double>>();
    for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(f.values<float>()[i], static_cast<float>(first[i])) << s["name"];
  }

  expect_values_match(g.inputs, facts["inputs"], "input");
  expect_values_match(g.outputs, facts["outputs"], "output");
  for (const ir::Value* in : g.inputs) EXPECT_FALSE(in->is_constant()) << in->name;

  // Every node input is a constant, a graph input, or the output of an earlier node.
  std::unordered_set<const ir::Value*> available(g.inputs.begin(), g.inputs.end());
  for (const auto& n : g.nodes()) {
    for (const ir::Value* in : n->inputs) {
      if (in) {
        EXPECT_TRUE(in->is_constant() || available.count(in)) << n->name << " uses " << in->name;
      }
    }
    for (const ir::Value* out : n->outputs) available.insert(out);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Assets, ImportModel,
    ::testing::Values("yolo11n.onnx", "yolo11n-dynamic.onnx", "yolov8n.onnx", "yolov8n-seg.onnx",
                      "yolo11n-pose.onnx", "yolo11n-obb-random.onnx", "yolo11n-cls-random.onnx",
                      "int8/yolo11n-pose_640_int8qdq_BROKEN-SCORES.onnx", "int8/yolo11n_320_int8dyn.onnx",
                      "int8/yolov8n-seg_320_int8dyn.onnx", "int8/yolov8n_640_int8dyn.onnx",
                      "reid/osnet_x0_25_msmt17.onnx", "reid/osnet_x0_25_msmt17_extdata/osnet_x0_25_msmt17.onnx"),
    [](const ::testing::TestParamInfo<const char*>& info) {
      std::string name = std::filesystem::path(info.param).replace_extension().string();
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

}  // namespace
}  // namespace kiln::onnx
