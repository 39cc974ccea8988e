// A .kiln whose checksum was recomputed after an edit passes the checksum, so loading it must
// re-validate the graph as an imported one: attributes (a pad of 2^55 used to overflow the
// CPU kernel's output size and write past the heap), declared shapes, ops, references and
// weights are each a one-line Corrupt error naming the file.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/engine.h"
#include "engine/engine_format.h"
#include "support/test_support.h"

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

// x [1,2,4,4] -> MaxPool 2x2 stride 2 -> y [1,2,2,2] -> Add b -> z.
struct PoolGraph {
  ir::Graph g;
  ir::Node* pool = nullptr;
  ir::Value* y = nullptr;
  ir::Value* b = nullptr;

  PoolGraph() {
    ir::Value* x = g.add_value("x");
    x->shape = ir::make_shape({1, 2, 4, 4});
    g.inputs.push_back(x);
    y = g.add_value("y");
    y->shape = ir::make_shape({1, 2, 2, 2});
    pool = g.add_node("MaxPool", "pool", {x}, {y});
    pool->attrs["kernel_shape"] = std::vector<int64_t>{2, 2};
    pool->attrs["strides"] = std::vector<int64_t>{2, 2};
    pool->attrs["pads"] = std::vector<int64_t>{0, 0, 0, 0};
    b = g.add_constant("b", ir::Tensor::from_vector<float>({2, 1, 1}, {1, 2}));
    ir::Value* z = g.add_value("z");
    z->shape = ir::make_shape({1, 2, 2, 2});
    g.add_node("Add", "add", {y, b}, {z});
    g.outputs.push_back(z);
  }
};

// The graph written as an engine whose checksum matches its (edited) contents.
Result<Engine> load_written(const ir::Graph& g, const std::string& name) {
  fs::path p = test::temp_dir() / name;
  EngineMetadata m;
  m.model.task = "detect";
  EXPECT_TRUE(save_engine(p, encode_engine_file(m, g)).ok());
  return load_engine(p);
}

void expect_corrupt(const Result<Engine>& e, const std::string& file, const std::string& mention) {
  ASSERT_FALSE(e.ok()) << file << " loaded";
  EXPECT_EQ(e.status().code(), StatusCode::kCorrupt) << e.status().message();
  EXPECT_NE(e.status().message().find(file), std::string::npos) << e.status().message();
  EXPECT_NE(e.status().message().find(mention), std::string::npos) << e.status().message();
  EXPECT_EQ(e.status().message().find('\n'), std::string::npos);
}

TEST(EngineValidation, SoundGraphLoads) {
  PoolGraph pg;
  auto e = load_written(pg.g, "ok.kiln");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_TRUE(e->info.checksum_ok);
}

TEST(EngineValidation, EditedAttributesAreCorrupt) {
  const int64_t huge = int64_t{1} << 55;
  const std::vector<std::pair<std::string, ir::AttrValue>> edits = {
      {"pads", std::vector<int64_t>{huge, 0, 0, 0}},
      {"pads", std::vector<int64_t>{-1, -1, -1, -1}},
      {"strides", std::vector<int64_t>{0, 0}},
      {"kernel_shape", std::vector<int64_t>{9, 9}},
      {"dilations", std::vector<int64_t>{huge, 1}},
  };
  for (const auto& [key, value] : edits) {
    PoolGraph pg;
    pg.pool->attrs[key] = value;
    expect_corrupt(load_written(pg.g, "attr.kiln"), "attr.kiln", "node 'pool' (MaxPool)");
  }
}

TEST(EngineValidation, EditedShapesOpsReferencesAndWeightsAreCorrupt) {
  {
    PoolGraph pg;
    pg.y->shape = ir::make_shape({1, 2, 1000, 1000});  // disagrees with what the pool computes
    expect_corrupt(load_written(pg.g, "shape.kiln"), "shape.kiln", "inferred as [1,2,2,2]");
  }
  {
    PoolGraph pg;
    pg.g.inputs[0]->shape = ir::make_shape({int64_t{1} << 40, 2, 4, 4});
    expect_corrupt(load_written(pg.g, "huge.kiln"), "huge.kiln", "beyond kiln's limits");
  }
  {
    PoolGraph pg;
    pg.pool->op_type = "SystemCall";
    expect_corrupt(load_written(pg.g, "op.kiln"), "op.kiln", "unknown op 'SystemCall'");
  }
  {
    PoolGraph pg;
    pg.b->shape = ir::make_shape({2, 1, 9});  // the weight's data is [2,1,1]
    expect_corrupt(load_written(pg.g, "weight.kiln"), "weight.kiln", "weight 'b'");
  }
  {
    PoolGraph pg;
    pg.g.inputs.clear();  // x is then read but defined nowhere
    expect_corrupt(load_written(pg.g, "ref.kiln"), "ref.kiln", "reads 'x', which nothing defines");
  }
}

// A metadata field of the wrong type names the problem without the JSON library's internals.
TEST(EngineValidation, MetadataOfTheWrongTypeIsOneCleanLine) {
  nlohmann::json j = to_json(EngineMetadata{});
  j["model"]["task"] = 5;
  EngineContainer c;
  c.format_version = kFormatVersion;
  c.metadata_json = j.dump();
  fs::path p = test::temp_dir() / "meta.kiln";
  std::vector<uint8_t> bytes = encode_engine(c);
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  auto info = inspect_engine(p);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().message(), p.string() + ": not a valid kiln engine: metadata: a field is missing or has the "
                                                  "wrong type (type must be string, but is number)");
}

}  // namespace
}  // namespace kiln::engine
