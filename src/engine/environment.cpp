#include "engine/environment.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <tuple>

#include "engine/cpu_query.h"

#ifdef KILN_ENGINE_CUDA
#include "engine/cuda_query.h"
#endif

namespace kiln::engine {

using nlohmann::json;

std::string major_version(const std::string& version) { return version.substr(0, version.find('.')); }

std::string to_string(NoGpuCause cause) {
  switch (cause) {
    case NoGpuCause::kNone: return "none";
    case NoGpuCause::kBuiltWithoutCuda: return "built_without_cuda";
    case NoGpuCause::kNoDriver: return "no_driver";
    case NoGpuCause::kDriverTooOld: return "driver_too_old";
    case NoGpuCause::kNoDevice: return "no_device";
    case NoGpuCause::kCudaError: return "cuda_error";
  }
  return "unknown";
}

std::pair<NoGpuCause, std::string> explain_no_gpu(const std::string& driver, const std::string& cuda_runtime,
                                                  const std::string& device_query_error) {
  if (driver.empty()) return {NoGpuCause::kNoDriver, "no NVIDIA driver: libcuda.so.1 not found"};
  // A driver runs every runtime of the CUDA majors up to its own (minor-version compatibility).
  auto major_of = [](const std::string& v) {
    int m = -1;
    std::from_chars(v.data(), v.data() + v.size(), m);
    return m;
  };
  const int driver_major = major_of(driver), runtime_major = major_of(cuda_runtime);
  if (driver_major >= 0 && driver_major < runtime_major)
    return {NoGpuCause::kDriverTooOld, "NVIDIA driver too old: it supports CUDA " + driver + ", kiln's CUDA runtime " +
                                           cuda_runtime + " needs a driver for CUDA " +
                                           std::to_string(runtime_major) + " or newer"};
  if (!device_query_error.empty())
    return {NoGpuCause::kCudaError, "the CUDA driver (CUDA " + driver + ") cannot list GPUs: " + device_query_error};
  return {NoGpuCause::kNoDevice, "no NVIDIA GPU found (driver for CUDA " + driver + ")"};
}

json to_json(const Fingerprint& fp) {
  return json{{"device_kind", fp.device_kind}, {"gpu_name", fp.gpu_name},
              {"compute_capability", fp.compute_capability}, {"driver", fp.driver},
              {"cuda_runtime", fp.cuda_runtime}, {"cudnn", fp.cudnn},
              {"cublaslt", fp.cublaslt}, {"kiln_version", fp.kiln_version}};
}

Result<Fingerprint> fingerprint_from_json(const json& j) {
  if (!j.is_object()) return error(StatusCode::kInvalidArgument, "environment fingerprint is not an object");
  Fingerprint fp;
  std::pair<const char*, std::string*> fields[] = {
      {"device_kind", &fp.device_kind}, {"gpu_name", &fp.gpu_name},
      {"compute_capability", &fp.compute_capability}, {"driver", &fp.driver},
      {"cuda_runtime", &fp.cuda_runtime}, {"cudnn", &fp.cudnn},
      {"cublaslt", &fp.cublaslt}, {"kiln_version", &fp.kiln_version}};
  for (auto& [key, out] : fields) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    if (!it->is_string()) return error(StatusCode::kInvalidArgument, "environment field '", key, "' is not a string");
    *out = it->get<std::string>();
  }
  return fp;
}

namespace {

Status apply_override(Environment& env, const std::string& path) {
  std::ifstream in(path);
  if (!in) return error(StatusCode::kNotFound, path, ": KILN_ENV_OVERRIDE file not found");
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return error(StatusCode::kInvalidArgument, path, ": KILN_ENV_OVERRIDE is not a JSON object");
  auto str = [&](const json& v, const std::string& key) -> Result<std::string> {
    if (!v.is_string()) return error(StatusCode::kInvalidArgument, path, ": '", key, "' must be a string");
    return v.get<std::string>();
  };
  std::string gpu_name, cc;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    // A simulated driver replaces what the real one said about the GPUs too.
    if (key == "driver") env.device_query_error.clear();
    std::string* target = key == "driver"         ? &env.driver
                          : key == "cuda_runtime" ? &env.cuda_runtime
                          : key == "cudnn"        ? &env.cudnn
                          : key == "cublaslt"     ? &env.cublaslt
                          : key == "kiln_version" ? &env.kiln_version
                          : key == "gpu_name"     ? &gpu_name
                          : key == "compute_capability" ? &cc
                                                        : nullptr;
    if (target) {
      KILN_ASSIGN_OR_RETURN(*target, str(*it, key));
    } else if (key == "gpus") {
      if (!it->is_array()) return error(StatusCode::kInvalidArgument, path, ": 'gpus' must be an array");
      env.gpus.clear();
      for (const json& g : *it) {
        if (!g.is_object()) return error(StatusCode::kInvalidArgument, path, ": each of 'gpus' must be an object");
        GpuInfo info{static_cast<int>(env.gpus.size()), g.value("name", std::string("Simulated GPU")),
                     g.value("compute_capability", std::string("8.9")), g.value("memory_bytes", uint64_t{0})};
        env.gpus.push_back(info);
      }
    } else {
      return error(StatusCode::kInvalidArgument, path, ": unknown KILN_ENV_OVERRIDE key '", key, "'");
    }
  }
  if ((!gpu_name.empty() || !cc.empty()) && env.gpus.empty()) env.gpus.push_back(GpuInfo{0, "Simulated GPU", "8.9", 0});
  for (GpuInfo& g : env.gpus) {
    if (!gpu_name.empty()) g.name = gpu_name;
    if (!cc.empty()) g.compute_capability = cc;
  }
  env.override_path = path;
  return Status::Ok();
}

// After the override, so a simulated driver is judged like a real one.
void explain_missing_gpus(Environment& env) {
  if (!env.gpus.empty()) return;
#ifdef KILN_ENGINE_CUDA
  std::tie(env.no_gpu_cause, env.no_gpu_reason) = explain_no_gpu(env.driver, env.cuda_runtime, env.device_query_error);
#else
  env.no_gpu_cause = NoGpuCause::kBuiltWithoutCuda;
  env.no_gpu_reason = "kiln was built without CUDA";
#endif
}

}  // namespace

std::string unsupported_reason(const GpuInfo& gpu) {
#ifdef KILN_ENGINE_CUDA
  return cuda_unsupported_reason(gpu.compute_capability);
#else
  (void)gpu;
  return "kiln was built without CUDA";
#endif
}

Result<Environment> detect_environment() {
  Environment env;
  env.kiln_version = KILN_VERSION;
  env.cpu = query_cpu();
#ifdef KILN_ENGINE_CUDA
  query_cuda(env);
#endif
  if (const char* path = std::getenv("KILN_ENV_OVERRIDE"); path && *path) {
    try {
      KILN_RETURN_IF_ERROR(apply_override(env, path));
    } catch (const json::exception& e) {
      return error(StatusCode::kInvalidArgument, path, ": KILN_ENV_OVERRIDE: ", e.what());
    }
  }
  explain_missing_gpus(env);
  return env;
}

json to_json(const Environment& env) {
  json gpus = json::array();
  for (const GpuInfo& g : env.gpus) {
    json gpu{{"index", g.index}, {"name", g.name}, {"compute_capability", g.compute_capability},
             {"memory_bytes", g.memory_bytes}};
    const std::string why_not = unsupported_reason(g);
    gpu["supported"] = why_not.empty();
    if (!why_not.empty()) gpu["unsupported_reason"] = why_not;
    gpus.push_back(gpu);
  }
  const CpuInfo& c = env.cpu;
  json cpu{{"arch", c.arch}, {"model", c.model}, {"physical_cores", c.physical_cores},
           {"logical_cpus", c.logical_cpus}, {"usable_cpus", c.usable_cpus}, {"instruction_sets", c.instruction_sets}};
  json j{{"kiln_version", env.kiln_version}, {"driver", env.driver}, {"cuda_runtime", env.cuda_runtime},
         {"cudnn", env.cudnn}, {"cublaslt", env.cublaslt}, {"cuda_architectures", env.cuda_architectures},
         {"gpus", gpus}, {"cpu", cpu}};
  if (env.gpus.empty()) {
    j["no_gpu_cause"] = to_string(env.no_gpu_cause);
    j["no_gpu_reason"] = env.no_gpu_reason;
  }
  if (!env.override_path.empty()) j["override"] = env.override_path;
  return j;
}

Result<Fingerprint> fingerprint_for(const Environment& env, const Device& device) {
  Fingerprint fp;
  fp.kiln_version = env.kiln_version;
  if (!device.is_cuda()) {
    fp.device_kind = "cpu";
    return fp;
  }
  if (device.index < 0 || static_cast<size_t>(device.index) >= env.gpus.size())
    return error(StatusCode::kNotFound, "device ", device.to_string(), ": ",
                 env.gpus.empty() ? env.no_gpu_reason : "this machine has " + std::to_string(env.gpus.size()) + " GPU(s)");
  const GpuInfo& g = env.gpus[static_cast<size_t>(device.index)];
  fp.device_kind = "cuda";
  fp.gpu_name = g.name;
  fp.compute_capability = g.compute_capability;
  fp.driver = env.driver;
  fp.cuda_runtime = env.cuda_runtime;
  fp.cudnn = env.cudnn;
  fp.cublaslt = env.cublaslt;
  return fp;
}

}  // namespace kiln::engine
