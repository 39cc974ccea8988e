// The .kiln container: save/load round trip, and damaged files give one Corrupt line
// naming the file (never a crash); a flipped byte is reported as a checksum mismatch.
#include <gtest/gtest.h>

#include <fstream>
#include <cstring>
#include <random>

#include "core/file_util.h"
#include "engine/engine.h"
#include "engine/engine_format.h"
#include "support/test_support.h"
#include "engine/tiny_graph.h"

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

EngineMetadata sample_metadata() {
  EngineMetadata m;
  m.environment = Fingerprint{"cuda", "NVIDIA H100", "9.0", "12.4", "12.4", "9.1.0", "12.4.5", KILN_VERSION};
  m.model = ModelInfo{"/m/yolo11n.onnx", std::string(64, 'a'), "pose", {"person"}, 32, 640, 480, {17, 3}, 17};
  m.build.device = Device::cuda(0);
  m.build.precision = Precision::kFp16;
  m.build.batch = BatchProfile{1, 4, 8};
  m.build.workspace_gb = 2;
  m.build.build_seconds = 1.5;
  m.build.max_relative_error = 1.25e-6;
  m.built_at = "2025-01-02T03:04:05Z";
  return m;
}

using kiln::test::tiny_graph;

EnginePlans sample_plans() {
  EnginePlans p;
  p.weight_bytes = 16;
  PreparedPlan one;
  one.input = {1, 3, 480, 640};
  one.structure_sha256 = "ab";
  one.steps = {{"add", "Add", "binary"}};
  one.arena_bytes = 4096;
  p.prepared.push_back(one);
  p.recorded = "key\t1\t\t0.5\n";
  return p;
}

fs::path write_sample(const fs::path& dir) {
  fs::path p = dir / "tiny.kiln";
  auto bytes = encode_engine_file(sample_metadata(), tiny_graph(), sample_plans());
  EXPECT_TRUE(save_engine(p, bytes).ok());
  return p;
}

std::vector<uint8_t> bytes_of(const fs::path& p) { return std::move(read_file(p)).value(); }
void put_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// The recorded plans (an FP16 engine's are megabytes of base64) are read as the bytes they
// are, not parsed out of a JSON string.
TEST(EngineFile, RecordedPlansAreASectionOfTheirOwn) {
  EnginePlans plans = sample_plans();
  plans.recorded = "gpu|conv \"a\" \\ b\t39\t1=2\t0.25\tQUJD\n";
  const std::vector<uint8_t> bytes = encode_engine_file(sample_metadata(), tiny_graph(), plans);
  auto c = decode_engine(bytes, "x.kiln");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->recorded_plans, plans.recorded);
  const std::string json_text(c->plans.begin(), c->plans.end());
  EXPECT_EQ(json_text.find("recorded"), std::string::npos);
  EXPECT_EQ(json_text.find("QUJD"), std::string::npos);
  auto info = decode_plans(c->plans, "x.kiln");
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->recorded.empty());
}

TEST(EngineFile, RoundTripsMetadataGraphAndPlans) {
  fs::path p = write_sample(test::temp_dir());
  auto e = load_engine(p);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(to_json(e->info.metadata), to_json(sample_metadata()));
  EXPECT_EQ(e->info.metadata.build.batch, (BatchProfile{1, 4, 8}));
  EXPECT_EQ(e->info.metadata.model.imgsz_w, 480);
  EXPECT_TRUE(e->info.checksum_ok);
  EXPECT_EQ(e->info.format_version, kFormatVersion);
  EXPECT_EQ(encode_plans(e->info.plans), encode_plans(sample_plans()));
  EXPECT_EQ(e->info.plans.recorded, sample_plans().recorded);
  ASSERT_EQ(e->info.plans.prepared.size(), 1u);
  EXPECT_EQ(e->info.plans.prepared[0].steps[0].tactic, "binary");
  EXPECT_EQ(e->info.plans.prepared[0].context_bytes(), 4096u);
  ASSERT_EQ(e->graph.nodes().size(), 1u);
  EXPECT_EQ(e->graph.nodes()[0]->op_type, "Add");
  EXPECT_EQ(e->graph.find_value("b")->initializer->values<float>()[3], 4.f);
  auto bytes = bytes_of(p);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "KILN");
}

// The batches a profile runs split side by side travel in the plans section; a split that
// names a batch the file does not prepare, or more rows than its largest, is a corrupt file,
// not a crash at run time.
TEST(EngineFile, BatchSplitsRoundTripAndAreChecked) {
  EnginePlans plans = sample_plans();
  PreparedPlan two = plans.prepared[0], four = plans.prepared[0];
  two.input[0] = 2;
  four.input[0] = 4;
  plans.prepared.push_back(two);
  plans.prepared.push_back(four);
  plans.splits = {{3, {2, 1}}};
  auto back = decode_plans(encode_plans(plans), "x.kiln");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->splits, plans.splits);
  EXPECT_TRUE(decode_plans(encode_plans(sample_plans()), "x.kiln")->splits.empty());
  for (const BatchSplits& bad : {BatchSplits{{3, {2, 3}}}, BatchSplits{{3, {1, 1}}}, BatchSplits{{4, {2, 2}}},
                                 BatchSplits{{3, {4}}}, BatchSplits{{3, {2, 2, 1}}}}) {  // last: 5 rows of at most 4
    plans.splits = bad;
    auto got = decode_plans(encode_plans(plans), "x.kiln");
    ASSERT_FALSE(got.ok()) << bad.begin()->first;
    EXPECT_EQ(got.status().code(), StatusCode::kCorrupt);
    EXPECT_NE(got.status().message().find("x.kiln"), std::string::npos);
    EXPECT_EQ(got.status().message().find('\n'), std::string::npos);
  }
}

TEST(EngineFile, EveryTruncationIsOneLineCorruptError) {
  fs::path dir = test::temp_dir();
  auto bytes = bytes_of(write_sample(dir));
  fs::path cut = dir / "cut.kiln";
  for (size_t n = 0; n < bytes.size(); n += 7) {
    put_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(n)));
    auto r = inspect_engine(cut);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt) << r.status().message();
    EXPECT_NE(r.status().message().find(cut.string()), std::string::npos);
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
    EXPECT_FALSE(load_engine(cut).ok());
  }
}

TEST(EngineFile, RandomBytesAreCorrupt) {
  fs::path p = test::temp_dir() / "random.kiln";
  std::mt19937 rng(7);
  for (size_t size : {0, 3, 100, 5000}) {
    std::vector<uint8_t> b(size);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    if (size >= 4) std::memcpy(b.data(), "KILN", 4);  // even with the right magic
    put_bytes(p, b);
    auto r = inspect_engine(p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  }
}

TEST(EngineFile, FlippedByteFailsTheChecksum) {
  fs::path p = write_sample(test::temp_dir());
  auto bytes = bytes_of(p);
  bytes[bytes.size() - 34] ^= 0x01;  // inside the plans section, just before the checksum
  put_bytes(p, bytes);
  auto info = inspect_engine(p);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_FALSE(info->checksum_ok);
  auto e = load_engine(p);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(e.status().message().find("checksum"), std::string::npos);
}

TEST(EngineFile, OtherFormatVersionIsReadableButNotLoadable) {
  EngineContainer c;
  c.format_version = kFormatVersion + 1;
  nlohmann::json j = to_json(sample_metadata());
  c.metadata_json = j.dump();
  fs::path p = test::temp_dir() / "v2.kiln";
  put_bytes(p, encode_engine(c));
  auto info = inspect_engine(p);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->format_version, kFormatVersion + 1);
  EXPECT_TRUE(info->checksum_ok);
  auto e = load_engine(p);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kIncompatible);
}

}  // namespace
}  // namespace kiln::engine
