// The compile path's profile and option logic on the CPU backend: which batch sizes a profile
// prepares, a profile engine keeps its batch symbolic and runs any n in it, the timing cache
// follows the engine cache's directory rules, requests that cannot be honoured are refused,
// and a model read once compiles at each size as its path does.
#include "engine/compile.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "backends/cpu/executor.h"
#include "engine/cache.h"
#include "engine/graph_serialization.h"
#include "passes/pipeline.h"
#include "support/test_support.h"

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

TEST(Compile, ProfilePreparesMinPowersOfTwoTheirMidpointsOptAndMax) {
  EXPECT_EQ(prepared_batches(BatchProfile(1)), (std::vector<int64_t>{1}));
  EXPECT_EQ(prepared_batches(BatchProfile(8)), (std::vector<int64_t>{8}));
  EXPECT_EQ(prepared_batches(BatchProfile(1, 4, 8)), (std::vector<int64_t>{1, 2, 3, 4, 6, 8}));
  EXPECT_EQ(prepared_batches(BatchProfile(2, 3, 16)), (std::vector<int64_t>{2, 3, 4, 6, 8, 12, 16}));
  EXPECT_EQ(prepared_batches(BatchProfile(3, 5, 6)), (std::vector<int64_t>{3, 4, 5, 6}));
  EXPECT_EQ(prepared_batches(BatchProfile(5, 5, 7)), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(prepared_batches(BatchProfile(1, 8, 32)), (std::vector<int64_t>{1, 2, 3, 4, 6, 8, 12, 16, 24, 32}));
}

TEST(Compile, TimingCacheFollowsTheEngineCacheDirectory) {
  ::setenv("HOME", "/home/someone", 1);
  ::unsetenv("KILN_CACHE_DIR");
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  BuildOptions o;
  EXPECT_EQ(timing_cache_path(o), fs::path("/xdg/kiln/cuda_timing_cache.tsv"));
  ::setenv("KILN_CACHE_DIR", "/env", 1);
  EXPECT_EQ(timing_cache_path(o), fs::path("/env/cuda_timing_cache.tsv"));
  o.timing_cache = "/given.tsv";
  EXPECT_EQ(timing_cache_path(o), fs::path("/given.tsv"));
  ::unsetenv("KILN_CACHE_DIR");
  ::unsetenv("XDG_CACHE_HOME");
}

// A profile engine keeps the batch symbolic; bound to any n it gives, image by image, the
// outputs the model gives one image at a time.
TEST(Compile, ProfileEngineRunsEveryBatchInIt) {
  KILN_REQUIRE_ASSETS();
  const fs::path model = test::asset("models/reid/osnet_x0_25_msmt17.onnx");
  BuildOptions o;
  o.batch = BatchProfile(1, 2, 4);
  auto compiled = compile(model, o);
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  EXPECT_FALSE((*compiled->graph.inputs[0]->shape)[0].is_known());
  ASSERT_TRUE(compiled->metadata.build.max_relative_error.has_value()) << compiled->metadata.build.verification_note;
  EXPECT_TRUE(compiled->plans.empty()) << "a CPU engine records no CUDA plans";

  auto exec = cpu::Executor::create(compiled->graph);
  ASSERT_TRUE(exec.ok()) << exec.status().message();
  const int64_t n = 3;
  ir::Tensor batch(ir::DType::kFloat32, {n, 3, 256, 128});
  for (int64_t i = 0; i < batch.numel(); ++i) batch.data<float>()[i] = static_cast<float>((i * 31) % 97) / 97.f;
  auto all = exec->run({batch});
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->at(0).dim(0), n);
  const int64_t per_in = 3 * 256 * 128, per_out = all->at(0).numel() / n;
  for (int64_t i = 0; i < n; ++i) {
    ir::Tensor one(ir::DType::kFloat32, {1, 3, 256, 128});
    std::copy(batch.data<float>() + i * per_in, batch.data<float>() + (i + 1) * per_in, one.data<float>());
    auto single = exec->run({one});
    ASSERT_TRUE(single.ok());
    for (int64_t k = 0; k < per_out; ++k)
      ASSERT_NEAR(all->at(0).data<float>()[i * per_out + k], single->at(0).data<float>()[k], 1e-4) << i << " " << k;
  }
}

TEST(Compile, RefusesWhatItCannotHonour) {
  KILN_REQUIRE_ASSETS();
  const fs::path model = test::asset("models/yolo11n-dynamic.onnx");
  BuildOptions tf32;
  tf32.precision = Precision::kTf32;
  auto r = compile(model, tf32);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tf32 needs a CUDA device"), std::string::npos) << r.status().message();
  BuildOptions half_size;
  half_size.height = 320;
  r = compile(model, half_size);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("give both height and width"), std::string::npos) << r.status().message();
}

// The dynamic-size runner compiles every input size from one SourceModel: each gives what
// compile() of the file's path gives at that size (same hash, same optimized graph), and a
// file that cannot be read is an error naming it.
TEST(Compile, ModelReadOnceCompilesAsItsPathDoes) {
  KILN_REQUIRE_ASSETS();
  const fs::path model = test::asset("models/yolo11n-dynamic.onnx");
  auto source = read_source_model(model);
  ASSERT_TRUE(source.ok()) << source.status().message();
  for (const auto& [h, w] : {std::pair<int64_t, int64_t>{480, 640}, {640, 384}}) {
    BuildOptions o;
    o.height = h, o.width = w;
    o.verify = false;
    auto from_source = compile(*source, o);
    auto from_path = compile(model, o);
    ASSERT_TRUE(from_source.ok()) << from_source.status().message();
    ASSERT_TRUE(from_path.ok()) << from_path.status().message();
    EXPECT_EQ(from_source->metadata.model.source_sha256, from_path->metadata.model.source_sha256);
    EXPECT_EQ(from_source->metadata.model.source_path, from_path->metadata.model.source_path);
    EXPECT_EQ(from_source->metadata.model.imgsz_h, h);
    EXPECT_EQ(from_source->metadata.model.imgsz_w, w);
    const SerializedGraph a = serialize_graph(from_source->graph), b = serialize_graph(from_path->graph);
    EXPECT_TRUE(a.graph == b.graph && a.weights == b.weights) << h << "x" << w;
    EXPECT_EQ(ir::shape_to_string(*from_source->graph.inputs[0]->shape),
              "[1,3," + std::to_string(h) + "," + std::to_string(w) + "]");
  }
  auto missing = read_source_model(test::temp_dir() / "no-such-model.onnx");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no-such-model.onnx"), std::string::npos) << missing.status().message();
}

// A CUDA engine compiled where no GPU can run it records no plans and says why.
TEST(Compile, CudaEngineWithoutGpuHasNoPlans) {
  KILN_REQUIRE_ASSETS();
  BuildOptions o;
  o.device = Device::cuda(0);
  o.precision = Precision::kFp16;
  const fs::path env = test::temp_dir() / "env.json";
  std::ofstream(env) << R"({"gpu_name": "Simulated GPU", "compute_capability": "9.0"})";
  ::setenv("KILN_ENV_OVERRIDE", env.c_str(), 1);
  auto r = compile(test::asset("models/yolo11n.onnx"), o);
  ::unsetenv("KILN_ENV_OVERRIDE");
  if (r.ok() && r->cuda) GTEST_SKIP() << "a GPU is present";
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->plans.empty());
  EXPECT_NE(r->metadata.build.verification_note.find("not verified"), std::string::npos);
}

}  // namespace
}  // namespace kiln::engine
