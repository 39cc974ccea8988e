// Cache keys, the cache directory choice, environment overrides, and prune.
#include "engine/cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <set>
#include <fstream>

#include "support/test_support.h"

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

TEST(CacheKey, ChangesWithModelOptionsAndFingerprint) {
  fs::path dir = test::temp_dir();
  fs::path model = dir / "m.onnx";
  std::ofstream(model) << "model-1";
  BuildOptions opts;
  Fingerprint fp{"cuda", "GPU", "8.9", "12.4", "12.4", "9.1.0", "12.4.5", "0.1.0"};
  std::string base = cache_key(model, opts, fp).value();
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(base, cache_key(model, opts, fp).value());

  std::set<std::string> keys{base};
  auto add = [&](const BuildOptions& o, const Fingerprint& f) { EXPECT_TRUE(keys.insert(cache_key(model, o, f).value()).second); };
  BuildOptions o = opts; o.precision = Precision::kFp16; add(o, fp);
  o = opts; o.batch = BatchProfile(1, 4, 8); add(o, fp);
  o = opts; o.imgsz = 320; add(o, fp);
  o = opts; o.workspace_gb = 1; add(o, fp);
  o = opts; o.device = Device{Device::Kind::kCuda, 1}; add(o, fp);
  Fingerprint f = fp; f.compute_capability = "9.0"; add(opts, f);
  f = fp; f.cudnn = "9.2.0"; add(opts, f);
  f = fp; f.driver = "12.6"; add(opts, f);
  o = opts; o.runtime_compiled_kernels = false; add(o, fp);
  o = opts; o.verify = false;
  EXPECT_EQ(cache_key(model, o, fp).value(), base) << "verification does not change the engine";
  // Resources a build uses, not what the engine is.
  const std::atomic<bool> cancel = false;
  o = opts; o.cancel = &cancel;
  EXPECT_EQ(cache_key(model, o, fp).value(), base);
  std::ofstream(model) << "model-2";
  EXPECT_TRUE(keys.insert(cache_key(model, opts, fp).value()).second);
}

TEST(CacheDir, FlagThenEnvThenConfigThenHome) {
  ::unsetenv("KILN_CACHE_DIR");
  ::setenv("HOME", "/home/someone", 1);
  ::unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(default_cache_dir("", std::nullopt), fs::path("/home/someone/.cache/kiln"));
  EXPECT_EQ(default_cache_dir("", fs::path("/cfg")), fs::path("/cfg"));
  ::setenv("KILN_CACHE_DIR", "/env", 1);
  EXPECT_EQ(default_cache_dir("", fs::path("/cfg")), fs::path("/env"));
  EXPECT_EQ(default_cache_dir("/flag", fs::path("/cfg")), fs::path("/flag"));
  ::unsetenv("KILN_CACHE_DIR");
}

TEST(Environment, OverrideFileReplacesDetectedFields) {
  fs::path p = test::temp_dir() / "env.json";
  std::ofstream(p) << R"({"compute_capability": "8.6", "gpu_name": "RTX 3090", "cudnn": "9.0.0", "driver": "12.2"})";
  ::setenv("KILN_ENV_OVERRIDE", p.c_str(), 1);
  auto env = detect_environment();
  ASSERT_TRUE(env.ok()) << env.status().message();
  ASSERT_EQ(env->gpus.size(), 1u);
  auto fp = fingerprint_for(*env, Device{Device::Kind::kCuda, 0});
  ASSERT_TRUE(fp.ok());
  EXPECT_EQ(fp->compute_capability, "8.6");
  EXPECT_EQ(fp->gpu_name, "RTX 3090");
  EXPECT_EQ(fp->cudnn, "9.0.0");
  EXPECT_EQ(fp->driver, "12.2");
  EXPECT_FALSE(fingerprint_for(*env, Device{Device::Kind::kCuda, 1}).ok());

  std::ofstream(p) << R"({"compute_capabilty": "8.6"})";
  auto bad = detect_environment();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("compute_capabilty"), std::string::npos);
  ::unsetenv("KILN_ENV_OVERRIDE");
}

TEST(CachePrune, RemovesOldEnginesAndStaleTemps) {
  fs::path dir = test::temp_dir();
  auto touch = [&](const std::string& name, double days_old) {
    std::ofstream(dir / name) << "x";
    fs::last_write_time(dir / name, fs::file_time_type::clock::now() -
                                        std::chrono::seconds(static_cast<int64_t>(days_old * 86400)));
  };
  touch("old-0123.kiln", 10);
  touch("old-0123.lock", 10);
  touch("new-4567.kiln", 1);
  touch("x-89ab.kiln.tmp.123", 2);
  touch("y-89ab.kiln.tmp.456", 0);
  touch("builds.log", 30);
  Cache cache(dir);
  auto list = cache.list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].path.filename(), "old-0123.kiln");
  EXPECT_FALSE((*list)[0].info.has_value()) << "not a real engine";
  EXPECT_FALSE((*list)[0].problem.empty());

  auto removed = cache.prune(5.0);
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_FALSE(fs::exists(dir / "old-0123.kiln"));
  EXPECT_FALSE(fs::exists(dir / "old-0123.lock"));
  EXPECT_TRUE(fs::exists(dir / "new-4567.kiln"));
  EXPECT_TRUE(fs::exists(dir / "x-89ab.kiln.tmp.123")) << "younger than 5 days";
  EXPECT_TRUE(fs::exists(dir / "builds.log"));
  ASSERT_TRUE(cache.prune(std::nullopt).ok());
  EXPECT_FALSE(fs::exists(dir / "new-4567.kiln"));
  EXPECT_FALSE(fs::exists(dir / "x-89ab.kiln.tmp.123"));
  EXPECT_TRUE(fs::exists(dir / "y-89ab.kiln.tmp.456")) << "may be a write in progress";
}

}  // namespace
}  // namespace kiln::engine
