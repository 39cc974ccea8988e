#include "engine/compatibility.h"

#include <algorithm>
#include <filesystem>

#include "engine/cuda_engines.h"
#include "engine/engine_format.h"
#include "engine/sha256.h"

namespace kiln::engine {

const char* severity_name(Severity s) { return s == Severity::kCritical ? "critical" : "warning"; }

bool Verdict::needs_rebuild() const {
  return std::any_of(reasons.begin(), reasons.end(), [](const Reason& r) { return r.severity == Severity::kCritical; });
}

namespace {

std::string minor_version(const std::string& v) {
  size_t dot = v.find('.');
  return dot == std::string::npos ? v : v.substr(0, v.find('.', dot + 1));
}

void compare_gpu(const Fingerprint& built, const Fingerprint& now, std::vector<Reason>& out) {
  auto critical = [&](std::string m) { out.push_back({Severity::kCritical, std::move(m)}); };
  auto warning = [&](std::string m) { out.push_back({Severity::kWarning, std::move(m)}); };
  if (built.compute_capability != now.compute_capability)
    critical("compute capability " + built.compute_capability + " (" + built.gpu_name + ") at build, " +
             now.compute_capability + " (" + now.gpu_name + ") now");
  else if (built.gpu_name != now.gpu_name)
    warning("GPU '" + built.gpu_name + "' at build, '" + now.gpu_name + "' now (same compute capability " +
            now.compute_capability + ")");
  const std::pair<const char*, std::pair<const std::string*, const std::string*>> libs[] = {
      {"CUDA runtime", {&built.cuda_runtime, &now.cuda_runtime}},
      {"cuDNN", {&built.cudnn, &now.cudnn}},
      {"cuBLASLt", {&built.cublaslt, &now.cublaslt}}};
  for (const auto& [name, v] : libs) {
    if (major_version(*v.first) != major_version(*v.second))
      critical(std::string(name) + " " + *v.first + " at build, " + *v.second + " now (major version changed)");
    else if (*v.first != *v.second)
      warning(std::string(name) + " " + *v.first + " at build, " + *v.second + " now");
  }
  if (built.driver != now.driver) warning("CUDA driver " + built.driver + " at build, " + now.driver + " now");
}

}  // namespace

Verdict check_compatibility(const EngineInfo& engine, const Environment& current) {
  Verdict v;
  auto critical = [&](std::string m) { v.reasons.push_back({Severity::kCritical, std::move(m)}); };
  auto warning = [&](std::string m) { v.reasons.push_back({Severity::kWarning, std::move(m)}); };
  const EngineMetadata& meta = engine.metadata;

  if (engine.format_version != kFormatVersion)
    critical("engine format version " + std::to_string(engine.format_version) + ", this kiln reads version " +
             std::to_string(kFormatVersion));
  if (!engine.checksum_ok) critical("checksum mismatch: the file was modified or damaged after it was written");

  auto now = fingerprint_for(current, meta.build.device);
  if (!now.ok()) critical("built for " + meta.build.device.to_string() + " but " + now.status().message());
  else if (meta.environment.device_kind != now->device_kind)
    critical("built for device kind " + meta.environment.device_kind + ", recorded device is " + now->device_kind);
  else if (now->device_kind == "cuda") compare_gpu(meta.environment, *now, v.reasons);

  const std::string& built_kiln = meta.environment.kiln_version;
  if (minor_version(built_kiln) != minor_version(current.kiln_version))
    critical("built by kiln " + built_kiln + ", this is kiln " + current.kiln_version);
  else if (built_kiln != current.kiln_version)
    warning("built by kiln " + built_kiln + ", this is kiln " + current.kiln_version);

  const std::string& src = meta.model.source_path;
  std::error_code ec;
  if (src.empty() || !std::filesystem::exists(src, ec)) {
    warning("source model " + (src.empty() ? std::string("(not recorded)") : src) +
            " no longer exists: the engine cannot be rebuilt");
  } else {
    auto hash = sha256_file_hex(src);
    if (!hash.ok()) warning("source model " + src + " unreadable: " + hash.status().message());
    else if (*hash != meta.model.source_sha256) critical("source model " + src + " changed since the build (SHA-256 differs)");
  }
  return v;
}

Result<MismatchPolicy> parse_mismatch_policy(const std::string& text) {
  if (text == "auto") return MismatchPolicy::kAuto;
  if (text == "prompt") return MismatchPolicy::kPrompt;
  if (text == "fail") return MismatchPolicy::kFail;
  return error(StatusCode::kInvalidArgument, "on-mismatch '", text, "': expected auto, prompt or fail");
}

const char* policy_name(MismatchPolicy p) {
  return p == MismatchPolicy::kAuto ? "auto" : p == MismatchPolicy::kPrompt ? "prompt" : "fail";
}

Result<Verdict> check_engine(const EngineInfo& engine, const Environment& current) {
  Verdict verdict = check_compatibility(engine, current);
  if (verdict.needs_rebuild() || !engine.checksum_ok) return verdict;
  KILN_ASSIGN_OR_RETURN(std::string why, plans_unrestorable_reason(engine));
  if (!why.empty()) verdict.reasons.push_back({Severity::kCritical, why});
  return verdict;
}

}  // namespace kiln::engine
