// Verdicts for each kind of mismatch between an engine's fingerprint and the machine.
#include "engine/compatibility.h"

#include <gtest/gtest.h>

#include <fstream>

#include "engine/engine_format.h"
#include "engine/sha256.h"
#include "support/test_support.h"

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  EngineInfo engine;
  Environment env;
};

Fixture cuda_fixture(const fs::path& dir) {
  fs::path src = dir / "model.onnx";
  std::ofstream(src) << "model bytes";
  Fixture f;
  f.env.kiln_version = KILN_VERSION;
  f.env.driver = "12.4";
  f.env.cuda_runtime = "12.4";
  f.env.cudnn = "9.1.0";
  f.env.cublaslt = "12.4.5";
  f.env.gpus = {GpuInfo{0, "NVIDIA H100 80GB HBM3", "9.0", 80ull << 30}};
  f.engine.format_version = kFormatVersion;
  f.engine.checksum_ok = true;
  f.engine.metadata.environment = fingerprint_for(f.env, Device{Device::Kind::kCuda, 0}).value();
  f.engine.metadata.build.device = Device::cuda(0);
  f.engine.metadata.model.source_path = src.string();
  f.engine.metadata.model.source_sha256 = sha256_file_hex(src).value();
  return f;
}

std::string critical_text(const Verdict& v) {
  std::string s;
  for (const Reason& r : v.reasons)
    if (r.severity == Severity::kCritical) s += r.message + "\n";
  return s;
}

TEST(Compatibility, SameEnvironmentIsCompatible) {
  Fixture f = cuda_fixture(test::temp_dir());
  Verdict v = check_compatibility(f.engine, f.env);
  EXPECT_FALSE(v.needs_rebuild());
  EXPECT_TRUE(v.reasons.empty()) << v.reasons[0].message;
}

TEST(Compatibility, HardMismatchesNeedRebuild) {
  fs::path dir = test::temp_dir();
  struct Case {
    const char* name;
    std::function<void(Fixture&)> change;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"compute capability", [](Fixture& f) { f.env.gpus[0] = {0, "NVIDIA L4", "8.9", 0}; }, "compute capability 9.0"},
      {"cudnn major", [](Fixture& f) { f.env.cudnn = "10.0.0"; }, "cuDNN 9.1.0 at build, 10.0.0"},
      {"cuda major", [](Fixture& f) { f.env.cuda_runtime = "13.0"; }, "CUDA runtime"},
      {"cublaslt major", [](Fixture& f) { f.env.cublaslt = "13.0.1"; }, "cuBLASLt"},
      {"format version", [](Fixture& f) { f.engine.format_version = kFormatVersion + 1; }, "format version"},
      {"checksum", [](Fixture& f) { f.engine.checksum_ok = false; }, "checksum mismatch"},
      {"no gpu", [](Fixture& f) { f.env.gpus.clear(); f.env.no_gpu_reason = "no CUDA GPU found"; }, "no CUDA GPU found"},
      {"source changed", [](Fixture& f) { std::ofstream(f.engine.metadata.model.source_path, std::ios::app) << "!"; }, "changed since the build"},
      {"kiln minor", [](Fixture& f) { f.engine.metadata.environment.kiln_version = "0.0.1"; }, "built by kiln 0.0.1"},
  };
  for (auto& c : cases) {
    Fixture f = cuda_fixture(dir);
    c.change(f);
    Verdict v = check_compatibility(f.engine, f.env);
    EXPECT_TRUE(v.needs_rebuild()) << c.name;
    EXPECT_NE(critical_text(v).find(c.expect), std::string::npos) << c.name << ": " << critical_text(v);
  }
}

TEST(Compatibility, SoftMismatchesOnlyWarn) {
  fs::path dir = test::temp_dir();
  std::vector<std::pair<std::function<void(Fixture&)>, std::string>> cases = {
      {[](Fixture& f) { f.env.driver = "12.6"; }, "CUDA driver 12.4 at build, 12.6 now"},
      {[](Fixture& f) { f.env.gpus[0].name = "NVIDIA H100 PCIe"; }, "same compute capability"},
      {[](Fixture& f) { f.env.cudnn = "9.3.0"; }, "cuDNN 9.1.0 at build, 9.3.0 now"},
      {[](Fixture& f) { fs::remove(f.engine.metadata.model.source_path); }, "no longer exists"},
  };
  for (auto& [change, expect] : cases) {
    Fixture f = cuda_fixture(dir);
    change(f);
    Verdict v = check_compatibility(f.engine, f.env);
    EXPECT_FALSE(v.needs_rebuild()) << expect << ": " << critical_text(v);
    ASSERT_EQ(v.reasons.size(), 1u) << expect;
    EXPECT_EQ(v.reasons[0].severity, Severity::kWarning);
    EXPECT_NE(v.reasons[0].message.find(expect), std::string::npos) << v.reasons[0].message;
  }
}

TEST(Compatibility, KilnPatchVersionWarns) {
  Fixture f = cuda_fixture(test::temp_dir());
  f.env.kiln_version = "0.1.0";
  f.engine.metadata.environment.kiln_version = "0.1.7";
  Verdict v = check_compatibility(f.engine, f.env);
  EXPECT_FALSE(v.needs_rebuild());
  ASSERT_EQ(v.reasons.size(), 1u);
  EXPECT_EQ(v.reasons[0].message, "built by kiln 0.1.7, this is kiln 0.1.0");
}

TEST(Compatibility, CpuEngineIgnoresGpuLibraries) {
  Fixture f = cuda_fixture(test::temp_dir());
  f.engine.metadata.build.device = Device::cpu();
  f.engine.metadata.environment = fingerprint_for(f.env, Device{}).value();
  f.env.cudnn = "10.0.0";
  f.env.gpus.clear();
  EXPECT_FALSE(check_compatibility(f.engine, f.env).needs_rebuild());
}

TEST(Compatibility, PolicyNames) {
  EXPECT_EQ(parse_mismatch_policy("auto").value(), MismatchPolicy::kAuto);
  EXPECT_EQ(parse_mismatch_policy("prompt").value(), MismatchPolicy::kPrompt);
  EXPECT_EQ(parse_mismatch_policy("fail").value(), MismatchPolicy::kFail);
  EXPECT_FALSE(parse_mismatch_policy("maybe").ok());
}

}  // namespace
}  // namespace kiln::engine
