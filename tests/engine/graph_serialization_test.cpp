// Graph <-> bytes must be lossless: a hand-built graph using every AttrValue kind,
// symbolic dims and an omitted input, and the real yolo11n graph.
#include "engine/graph_serialization.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "backends/cpu/executor.h"
#include "engine/byte_io.h"
#include "onnx/importer.h"
#include "support/test_support.h"

namespace kiln::engine {
namespace {

void expect_same_graph(const ir::Graph& a, const ir::Graph& b) {
  ASSERT_EQ(a.values().size(), b.values().size());
  ASSERT_EQ(a.nodes().size(), b.nodes().size());
  for (size_t i = 0; i < a.values().size(); ++i) {
    const ir::Value& x = *a.values()[i];
    const ir::Value& y = *b.values()[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.dtype, y.dtype);
    EXPECT_EQ(x.shape, y.shape) << x.name;
    ASSERT_EQ(x.initializer.has_value(), y.initializer.has_value()) << x.name;
    if (x.initializer) {
      EXPECT_EQ(x.initializer->shape(), y.initializer->shape());
      EXPECT_EQ(x.initializer->dtype(), y.initializer->dtype());
      ASSERT_EQ(x.initializer->nbytes(), y.initializer->nbytes());
      EXPECT_EQ(0, std::memcmp(x.initializer->raw(), y.initializer->raw(), x.initializer->nbytes())) << x.name;
    }
    EXPECT_EQ(x.producer == nullptr, y.producer == nullptr);
    if (x.producer) {
      EXPECT_EQ(x.producer->name, y.producer->name);
    }
  }
  auto names = [](const std::vector<ir::Value*>& vs) {
    std::vector<std::string> out;
    for (auto* v : vs) out.push_back(v ? v->name : "<none>");
    return out;
  };
  for (size_t i = 0; i < a.nodes().size(); ++i) {
    const ir::Node& x = *a.nodes()[i];
    const ir::Node& y = *b.nodes()[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.op_type, y.op_type);
    EXPECT_EQ(x.domain, y.domain);
    EXPECT_EQ(names(x.inputs), names(y.inputs));
    EXPECT_EQ(names(x.outputs), names(y.outputs));
    ASSERT_EQ(x.attrs.size(), y.attrs.size()) << x.name;
    for (const auto& [k, v] : x.attrs) {
      ASSERT_TRUE(y.attrs.count(k)) << x.name << "." << k;
      const ir::AttrValue& w = y.attrs.at(k);
      ASSERT_EQ(v.index(), w.index()) << x.name << "." << k;
      std::visit(
          [&](const auto& p) {
            using T = std::decay_t<decltype(p)>;
            const T& q = std::get<T>(w);
            if constexpr (std::is_same_v<T, ir::Tensor>) {
              EXPECT_EQ(p.shape(), q.shape());
              ASSERT_EQ(p.nbytes(), q.nbytes());
              EXPECT_EQ(0, std::memcmp(p.raw(), q.raw(), p.nbytes()));
            } else {
              EXPECT_EQ(p, q) << x.name << "." << k;
            }
          },
          v);
    }
  }
  EXPECT_EQ(names(a.inputs), names(b.inputs));
  EXPECT_EQ(names(a.outputs), names(b.outputs));
  EXPECT_EQ(a.metadata, b.metadata);
  EXPECT_EQ(a.opset, b.opset);
  EXPECT_EQ(a.source_path, b.source_path);
}

ir::Graph hand_built_graph() {
  ir::Graph g;
  ir::Value* x = g.add_value("images");
  x->shape = ir::Shape{ir::Dim::symbolic("batch"), ir::Dim::known(3), ir::Dim::symbolic("height"), ir::Dim{}};
  g.inputs.push_back(x);
  ir::Value* w = g.add_constant("w", ir::Tensor::from_vector<float>({2, 3, 1, 1}, {1, 2, 3, 4, 5, 6}));
  ir::Value* idx = g.add_constant("idx", ir::Tensor::from_vector<int64_t>({2}, {7, -8}));
  ir::Value* y = g.add_value("y");
  y->dtype = ir::DType::kFloat16;
  ir::Node* n = g.add_node("Conv", "conv0", {x, w, nullptr}, {y});
  n->attrs["i"] = int64_t{-3};
  n->attrs["f"] = 0.25f;
  n->attrs["s"] = std::string("NOTSET");
  n->attrs["ints"] = std::vector<int64_t>{1, 2, 3};
  n->attrs["floats"] = std::vector<float>{0.5f, -1.5f};
  n->attrs["strings"] = std::vector<std::string>{"a", "", "ccc"};
  n->attrs["t"] = ir::Tensor::from_vector<uint8_t>({3}, {9, 8, 7});
  ir::Value* z = g.add_value("z");
  g.add_node("Gather", "gather", {y, idx}, {z})->domain = "com.example";
  g.outputs.push_back(z);
  g.metadata = {{"task", "detect"}, {"names", "{0: 'a'}"}};
  g.opset = 17;
  g.source_path = "/models/m.onnx";
  return g;
}

TEST(GraphSerialization, HandBuiltGraphRoundTripsExactly) {
  ir::Graph g = hand_built_graph();
  SerializedGraph s = serialize_graph(g);
  auto back = deserialize_graph(s.graph, s.weights, "hand.kiln");
  ASSERT_TRUE(back.ok()) << back.status().message();
  expect_same_graph(g, *back);
  EXPECT_EQ(back->nodes()[0]->inputs[2], nullptr);
  EXPECT_EQ(ir::shape_to_string(*back->inputs[0]->shape), "[batch,3,height,?]");
  // Serializing the copy gives the same bytes: nothing was lost or reordered.
  SerializedGraph again = serialize_graph(*back);
  EXPECT_EQ(s.graph, again.graph);
  EXPECT_EQ(s.weights, again.weights);
}

TEST(GraphSerialization, DamagedBytesAreCorruptNotACrash) {
  SerializedGraph s = serialize_graph(hand_built_graph());
  for (size_t cut = 0; cut < s.graph.size(); cut += 3) {
    auto r = deserialize_graph(std::span(s.graph).first(cut), s.weights, "cut.kiln");
    ASSERT_FALSE(r.ok()) << "cut at " << cut;
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    EXPECT_NE(r.status().message().find("cut.kiln"), std::string::npos);
  }
  for (size_t cut = 0; cut < s.weights.size(); ++cut)
    EXPECT_FALSE(deserialize_graph(s.graph, std::span(s.weights).first(cut), "cut.kiln").ok()) << cut;
  std::mt19937 rng(1);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<uint8_t> g = s.graph;
    for (int k = 0; k < 4; ++k) g[rng() % g.size()] = static_cast<uint8_t>(rng());
    (void)deserialize_graph(g, s.weights, "random.kiln");  // must return, ok or not
  }
}

// A weight's dims are held to kiln's size limits before they are multiplied out: with a
// zero dim after two huge ones the byte count (0) matched, and the element count overflowed
// int64 (found by fuzzing the engine reader).
TEST(GraphSerialization, TensorDimsBeyondTheLimitsAreCorrupt) {
  auto tensor_bytes = [](const std::vector<int64_t>& shape, uint64_t nbytes) {
    ByteWriter w;
    w.put<uint8_t>(static_cast<uint8_t>(ir::DType::kFloat32));
    w.put<uint32_t>(static_cast<uint32_t>(shape.size()));
    for (int64_t d : shape) w.put<int64_t>(d);
    w.put<uint64_t>(nbytes);
    w.bytes().resize(w.bytes().size() + nbytes);
    return w.bytes();
  };
  const int64_t huge = int64_t{1} << 62;
  for (const auto& [shape, why] : std::vector<std::pair<std::vector<int64_t>, std::string>>{
           {{huge, huge, 0}, "beyond kiln's limits"},
           {{int64_t{1} << 32, 0}, "beyond kiln's limits"},
           {{-1, 4}, "beyond kiln's limits"},
           {{2, 3}, "byte count does not match"}}) {
    const std::vector<uint8_t> bytes = tensor_bytes(shape, 0);
    ByteReader r(bytes);
    read_tensor(r);
    EXPECT_FALSE(r.ok()) << ir::shape_to_string(shape);
    EXPECT_NE(r.why().find(why), std::string::npos) << r.why();
  }
  const std::vector<uint8_t> fine = tensor_bytes({2, 0, 3}, 0);
  ByteReader r(fine);
  const ir::Tensor t = read_tensor(r);
  EXPECT_TRUE(r.ok()) << r.why();
  EXPECT_EQ(t.numel(), 0);
}

TEST(GraphSerialization, Yolo11nRoundTripRunsIdentically) {
  KILN_REQUIRE_ASSETS();
  auto g = onnx::import_model(test::asset("models/yolo11n.onnx"));
  ASSERT_TRUE(g.ok()) << g.status().message();
  SerializedGraph s = serialize_graph(*g);
  auto back = deserialize_graph(s.graph, s.weights, "yolo11n.kiln");
  ASSERT_TRUE(back.ok()) << back.status().message();
  expect_same_graph(*g, *back);
  EXPECT_GT(back->nodes().size(), 200u);

  auto before = cpu::Executor::create(*g);
  if (!before.ok()) GTEST_SKIP() << "CPU backend incomplete: " << before.status().message();
  auto after = cpu::Executor::create(*back);
  ASSERT_TRUE(after.ok());
  ir::Tensor input(ir::DType::kFloat32, {1, 3, 640, 640});
  for (int64_t i = 0; i < input.numel(); ++i) input.data<float>()[i] = static_cast<float>((i * 7919) % 1000) / 1000.f;
  auto a = before->run({input});
  auto b = after->run({input});
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    ASSERT_EQ((*a)[i].nbytes(), (*b)[i].nbytes());
    EXPECT_EQ(0, std::memcmp((*a)[i].raw(), (*b)[i].raw(), (*a)[i].nbytes())) << "output " << i;
  }
}

}  // namespace
}  // namespace kiln::engine
