// TensorProto, AttributeProto, Constant-node and ValueInfo conversion on hand-built models.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "core/half.h"
#include "model_builder.h"

namespace kiln::onnx {
namespace {

using ::onnx::AttributeProto;
using ::onnx::TensorProto;

// A model whose output is Add(x, <tensor>) so `tensor` is imported as an initializer.
Result<ir::Graph> import_with_initializer(const TensorProto& tensor) {
  ::onnx::ModelProto m = test::make_model(17);
  test::add_input(m, "x", {});
  *m.mutable_graph()->add_initializer() = tensor;
  test::add_node(m, "Add", "add", {"x", tensor.name()}, {"y"});
  test::add_output(m, "y");
  return test::import_proto(m);
}

TensorProto make_tensor(const std::string& name, int32_t dtype, std::vector<int64_t> dims) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(dtype);
  for (int64_t d : dims) t.add_dims(d);
  return t;
}

// The constant `name` in `g` (an empty tensor, after a test failure, if missing).
const ir::Tensor& initializer(const Result<ir::Graph>& g, const std::string& name) {
  static const ir::Tensor kNone(ir::DType::kFloat32, {4});
  const ir::Value* v = g.ok() ? g->find_value(name) : nullptr;
  if (!v || !v->is_constant()) {
    ADD_FAILURE() << name << ": " << g.status().message();
    return kNone;
  }
  return *v->initializer;
}

TEST(ImportConversion, TypedFieldTensors) {
  TensorProto f = make_tensor("f", TensorProto::FLOAT, {2});
  f.add_float_data(1.5f);
  f.add_float_data(-2.f);
  auto gf = import_with_initializer(f);
  EXPECT_EQ(initializer(gf, "f").values<float>()[1], -2.f);

  TensorProto i8 = make_tensor("i8", TensorProto::INT8, {3});
  for (int v : {-128, 0, 127}) i8.add_int32_data(v);
  auto gi8 = import_with_initializer(i8);
  const ir::Tensor& t8 = initializer(gi8, "i8");
  EXPECT_EQ(t8.dtype(), ir::DType::kInt8);
  EXPECT_EQ(t8.values<int8_t>()[0], -128);
  EXPECT_EQ(t8.values<int8_t>()[2], 127);

  TensorProto u8 = make_tensor("u8", TensorProto::UINT8, {2});
  u8.add_int32_data(255);
  u8.add_int32_data(3);
  auto gu8 = import_with_initializer(u8);
  EXPECT_EQ(initializer(gu8, "u8").values<uint8_t>()[0], 255);

  TensorProto h = make_tensor("h", TensorProto::FLOAT16, {2});
  h.add_int32_data(kiln::float_to_half(0.5f));
  h.add_int32_data(kiln::float_to_half(-3.25f));
  auto gh = import_with_initializer(h);
  const ir::Tensor& th = initializer(gh, "h");
  EXPECT_EQ(th.dtype(), ir::DType::kFloat16);
  EXPECT_EQ(th.to_float32().values<float>()[1], -3.25f);

  TensorProto b = make_tensor("b", TensorProto::BOOL, {3});
  for (int v : {1, 0, 1}) b.add_int32_data(v);
  auto gb = import_with_initializer(b);
  EXPECT_EQ(initializer(gb, "b").as_int64(), (std::vector<int64_t>{1, 0, 1}));

  TensorProto i32 = make_tensor("i32", TensorProto::INT32, {2});
  i32.add_int32_data(-7);
  i32.add_int32_data(1 << 30);
  auto gi32 = import_with_initializer(i32);
  EXPECT_EQ(initializer(gi32, "i32").as_int64(), (std::vector<int64_t>{-7, 1 << 30}));

  TensorProto i64 = make_tensor("i64", TensorProto::INT64, {2, 1});
  i64.add_int64_data(int64_t{1} << 40);
  i64.add_int64_data(-1);
  auto gi64 = import_with_initializer(i64);
  const ir::Tensor& t64 = initializer(gi64, "i64");
  EXPECT_EQ(t64.shape(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(t64.as_int64(), (std::vector<int64_t>{int64_t{1} << 40, -1}));
}

TEST(ImportConversion, RawDataTensors) {
  TensorProto t = make_tensor("r", TensorProto::INT64, {3});
  std::vector<int64_t> values = {5, -6, 7};
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * 8));
  auto g = import_with_initializer(t);
  EXPECT_EQ(initializer(g, "r").as_int64(), values);

  TensorProto empty = make_tensor("e", TensorProto::FLOAT, {0, 4});
  auto ge = import_with_initializer(empty);
  EXPECT_EQ(initializer(ge, "e").numel(), 0);
}

TEST(ImportConversion, TypedCountMismatchIsCorrupt) {
  TensorProto t = make_tensor("w", TensorProto::INT8, {4});
  t.add_int32_data(1);
  Result<ir::Graph> g = import_with_initializer(t);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(g.status().message().find("initializer 'w' holds 1 values"), std::string::npos) << g.status().message();
}

TEST(ImportConversion, AttributesOfEveryKind) {
  ::onnx::ModelProto m = test::make_model(17);
  test::add_input(m, "x", {2});
  auto* n = test::add_node(m, "Identity", "id", {"x"}, {"y"});
  test::set_int(n, "i", -3);
  test::add_attr(n, "f", AttributeProto::FLOAT)->set_f(0.25f);
  test::add_attr(n, "s", AttributeProto::STRING)->set_s("nearest");
  test::set_ints(n, "is", {1, 2, 3});
  auto* fs = test::add_attr(n, "fs", AttributeProto::FLOATS);
  fs->add_floats(1.f);
  fs->add_floats(2.f);
  auto* ss = test::add_attr(n, "ss", AttributeProto::STRINGS);
  ss->add_strings("a");
  ss->add_strings("b");
  auto* t = test::add_attr(n, "t", AttributeProto::TENSOR)->mutable_t();
  t->set_data_type(TensorProto::FLOAT);
  t->add_dims(1);
  t->add_float_data(9.f);
  test::add_output(m, "y");
  Result<ir::Graph> g = test::import_proto(m);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const ir::Node& node = *g->nodes()[0];
  EXPECT_EQ(node.attr_int("i", 0), -3);
  EXPECT_EQ(node.attr_float("f", 0), 0.25f);
  EXPECT_EQ(node.attr_string("s", ""), "nearest");
  EXPECT_EQ(node.attr_ints("is"), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(node.attr_floats("fs"), (std::vector<float>{1.f, 2.f}));
  EXPECT_EQ(std::get<std::vector<std::string>>(node.attrs.at("ss")), (std::vector<std::string>{"a", "b"}));
  ASSERT_NE(node.attr_tensor("t"), nullptr);
  EXPECT_EQ(node.attr_tensor("t")->values<float>()[0], 9.f);
}

TEST(ImportConversion, ConstantNodesBecomeConstantValues) {
  ::onnx::ModelProto m = test::make_model(17);
  test::add_input(m, "x", {2});
  auto* c1 = test::add_node(m, "Constant", "c1", {}, {"k_float"});
  test::add_attr(c1, "value_float", AttributeProto::FLOAT)->set_f(2.5f);
  auto* c2 = test::add_node(m, "Constant", "c2", {}, {"k_ints"});
  test::set_ints(c2, "value_ints", {4, 5});
  auto* c3 = test::add_node(m, "Constant", "c3", {}, {"k_int"});
  test::set_int(c3, "value_int", 7);
  auto* c4 = test::add_node(m, "Constant", "c4", {}, {"k_floats"});
  auto* fl = test::add_attr(c4, "value_floats", AttributeProto::FLOATS);
  fl->add_floats(1.f);
  fl->add_floats(-1.f);
  auto* c5 = test::add_node(m, "Constant", "c5", {}, {"k_tensor"});
  auto* t = test::add_attr(c5, "value", AttributeProto::TENSOR)->mutable_t();
  t->set_data_type(TensorProto::INT64);
  t->add_dims(1);
  t->add_int64_data(-1);
  test::add_node(m, "Mul", "mul", {"x", "k_float"}, {"y"});
  test::add_node(m, "Reshape", "reshape", {"y", "k_tensor"}, {"z"});
  test::add_output(m, "z");
  Result<ir::Graph> g = test::import_proto(m);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->nodes().size(), 2u);
  EXPECT_EQ(g->find_value("k_float")->initializer->values<float>()[0], 2.5f);
  EXPECT_EQ(g->find_value("k_float")->initializer->rank(), 0u);
  EXPECT_EQ(g->find_value("k_ints")->initializer->as_int64(), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(g->find_value("k_int")->initializer->as_int64(), std::vector<int64_t>{7});
  EXPECT_EQ(g->find_value("k_floats")->initializer->values<float>()[1], -1.f);
  EXPECT_EQ(g->nodes()[1]->input(1), g->find_value("k_tensor"));
  EXPECT_EQ(g->find_value("k_tensor")->initializer->as_int64(), std::vector<int64_t>{-1});
}

TEST(ImportConversion, InputsShapesNamesAndOptionalSlots) {
  ::onnx::ModelProto m = test::make_model(17);
  test::add_input(m, "images", {"batch", 3, "", 640});
  // An old-style export listing a weight as a graph input too.
  test::add_input(m, "w", {1});
  auto* w = test::add_initializer(m, "w", TensorProto::FLOAT, {1});
  w->add_float_data(3.f);
  test::add_node(m, "Mul", "", {"images", "w"}, {"a"});
  test::add_node(m, "Relu", "", {"a"}, {"b"});
  test::add_node(m, "Relu", "Relu_1", {"b"}, {"c"});  // collides with a generated name
  test::add_node(m, "Resize", "up", {"c", "", "", ""}, {"d"});
  auto* vi = m.mutable_graph()->add_value_info();
  vi->set_name("a");
  test::set_type(vi, TensorProto::FLOAT, {"batch", 3, 8, 640});
  test::add_output(m, "d");
  Result<ir::Graph> g = test::import_proto(m);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->inputs.size(), 1u);
  EXPECT_EQ(g->inputs[0]->name, "images");
  EXPECT_EQ(*g->inputs[0]->shape, (ir::Shape{ir::Dim::symbolic("batch"), ir::Dim::known(3), ir::Dim{},
                                             ir::Dim::known(640)}));
  EXPECT_EQ(ir::shape_to_string(*g->find_value("a")->shape), "[batch,3,8,640]");
  EXPECT_FALSE(g->find_value("b")->shape.has_value());
  std::set<std::string> names;
  for (const auto& n : g->nodes()) names.insert(n->name);
  EXPECT_EQ(names.size(), 4u);
  EXPECT_EQ(names.count(""), 0u);
  EXPECT_EQ(names.count("Relu_1"), 1u);
  const ir::Node& up = *g->nodes()[3];
  ASSERT_EQ(up.inputs.size(), 4u);
  EXPECT_EQ(up.inputs[1], nullptr);
  EXPECT_EQ(up.inputs[3], nullptr);
  EXPECT_EQ(g->metadata.size(), 0u);
}

// Flipping bytes of a valid small model: whatever parses must import cleanly or fail with
// a Status, never crash or allocate absurdly.
TEST(ImportConversion, MutatedModelsNeverCrash) {
  ::onnx::ModelProto m = test::make_model(17);
  test::add_input(m, "x", {1, 4});
  auto* w = test::add_initializer(m, "w", TensorProto::FLOAT, {1, 4});
  for (int i = 0; i < 4; ++i) w->add_float_data(static_cast<float>(i));
  test::add_node(m, "Mul", "mul", {"x", "w"}, {"a"});
  test::set_ints(test::add_node(m, "Split", "split", {"a"}, {"b", "c"}), "split", {2, 2});
  test::add_node(m, "Concat", "cat", {"c", "b"}, {"y"});
  test::add_output(m, "y");
  auto* prop = m.add_metadata_props();
  prop->set_key("names");
  prop->set_value("{0: 'a'}");
  const std::string good = m.SerializeAsString();
  std::mt19937 rng(7);
  int imported = 0, parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = good;
    for (int k = 0, flips = 1 + static_cast<int>(rng() % 3); k < flips; ++k)
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    ::onnx::ModelProto probe;
    parsed += probe.ParseFromString(bytes);
    Result<ir::Graph> r = import_model_bytes(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "mut.onnx", ".");
    if (r.ok()) {
      ++imported;
      continue;
    }
    EXPECT_EQ(r.status().message().rfind("mut.onnx: ", 0), 0u) << r.status().message();
  }
  EXPECT_GT(parsed, 600);    // many mutations reach validation and conversion
  EXPECT_GT(imported, 100);  // and many harmless ones (names, metadata) still import
}

}  // namespace
}  // namespace kiln::onnx
