// build_engine: the engine holds the optimized graph, verification compares it with the
// imported model, and bad requests fail before anything is written.
#include "engine/builder.h"

#include <gtest/gtest.h>

#include "onnx/importer.h"
#include "support/test_support.h"

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

TEST(Builder, OsnetEngineIsOptimizedAndVerified) {
  KILN_REQUIRE_ASSETS();
  fs::path model = test::asset("models/reid/osnet_x0_25_msmt17.onnx");
  fs::path out = test::temp_dir() / "osnet.kiln";
  BuildOptions options;
  options.batch = 2;
  auto report = build_engine(model, options, out);
  ASSERT_TRUE(report.ok()) << report.status().message();
  auto engine = load_engine(out);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  auto imported = onnx::import_model(model);
  ASSERT_TRUE(imported.ok());
  EXPECT_LT(engine->graph.nodes().size(), imported->nodes().size()) << "the pass pipeline ran";
  // One batch size: the batch is bound and the input static (a profile keeps it symbolic:
  // compile_test.cpp).
  EXPECT_EQ(ir::shape_to_string(*engine->graph.inputs[0]->shape), "[2,3,256,128]");
  const EngineMetadata& m = engine->info.metadata;
  ASSERT_TRUE(m.build.max_relative_error.has_value()) << m.build.verification_note;
  EXPECT_LT(*m.build.max_relative_error, 1e-4);
  EXPECT_EQ(m.build.batch.to_string(), "2:2:2");
  EXPECT_EQ(m.model.imgsz_h, 256);
  EXPECT_EQ(m.model.imgsz_w, 128);
  EXPECT_EQ(m.model.source_sha256, "61b2604171ef9d58d21758626f83b35a253c3d7123976523a6e03068c3c95d7b");
  EXPECT_EQ(m.environment.device_kind, "cpu");
}

TEST(Builder, RejectsWhatItCannotBuildWithoutWriting) {
  KILN_REQUIRE_ASSETS();
  fs::path out = test::temp_dir() / "x.kiln";
  BuildOptions fp16;
  fp16.precision = Precision::kFp16;
  auto r = build_engine(test::asset("models/yolo11n.onnx"), fp16, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  BuildOptions big_batch;
  big_batch.batch = BatchProfile(1, 4, 8);
  r = build_engine(test::asset("models/yolo11n.onnx"), big_batch, out);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("static batch of 1"), std::string::npos) << r.status().message();

  BuildOptions small;
  small.imgsz = 320;
  r = build_engine(test::asset("models/yolo11n.onnx"), small, out);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("needs a dynamic export"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(out));
}

// A rebuild takes only the model the engine was built from: a source whose SHA-256 differs
// from the recorded one (changed, or a path altered in a damaged engine) is refused before
// anything is built or written.
TEST(Builder, RebuildRefusesASourceThatChanged) {
  KILN_REQUIRE_ASSETS();
  fs::path dir = test::temp_dir();
  fs::path src = dir / "model.onnx";
  fs::copy_file(test::asset("models/reid/osnet_x0_25_msmt17.onnx"), src);
  EngineInfo info;
  info.path = dir / "model.kiln";
  info.metadata.model.source_path = src.string();
  info.metadata.model.source_sha256 = std::string(64, '0');
  auto r = rebuild_engine(info, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIncompatible);
  EXPECT_NE(r.status().message().find("cannot rebuild: source model " + src.string() + " changed since the engine was built"),
            std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(info.path));
}

// With a signing key, build and rebuild write signed engines: an unsigned engine rebuilt
// with the key comes back signed with it.
TEST(Builder, BuildAndRebuildSignWithTheKey) {
  KILN_REQUIRE_ASSETS();
  const fs::path out = test::temp_dir() / "osnet.kiln";
  const SigningKey key{std::vector<uint8_t>(32, 7), "k"};
  BuildOptions options;
  options.verify = false;
  ASSERT_TRUE(build_engine(test::asset("models/reid/osnet_x0_25_msmt17.onnx"), options, out).ok());
  auto plain = inspect_engine(out, &key);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(plain->signature, SignatureState::kUnsigned);
  auto rebuilt = rebuild_engine(*plain, key);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().message();
  auto again = inspect_engine(out, &key);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->signature, SignatureState::kValid);
  EXPECT_TRUE(load_engine(out, &key).ok());
}

}  // namespace
}  // namespace kiln::engine
