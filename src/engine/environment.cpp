#include "engine/environment.h"

#include <cstdlib>
#include <fstream>

#ifdef KILN_ENGINE_CUDA
#include "engine/cuda_query.h"
#endif

namespace kiln::engine {

using nlohmann::json;

std::string major_version(const std::string& version) { return version.substr(0, version.find('.')); }

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
  if (!env.gpus.empty()) env.no_gpu_reason.clear();
  env.override_path = path;
  return Status::Ok();
}

}  // namespace

Result<Environment> detect_environment() {
  Environment env;
  env.kiln_version = KILN_VERSION;
#ifdef KILN_ENGINE_CUDA
  query_cuda(env);
#else
  env.no_gpu_reason = "kiln was built without CUDA";
#endif
  if (const char* path = std::getenv("KILN_ENV_OVERRIDE"); path && *path) {
    try {
      KILN_RETURN_IF_ERROR(apply_override(env, path));
    } catch (const json::exception& e) {
      return error(StatusCode::kInvalidArgument, path, ": KILN_ENV_OVERRIDE: ", e.what());
    }
  }
  return env;
}

json to_json(const Environment& env) {
  json gpus = json::array();
  for (const GpuInfo& g : env.gpus)
    gpus.push_back({{"index", g.index}, {"name", g.name}, {"compute_capability", g.compute_capability},
                    {"memory_bytes", g.memory_bytes}});
  json j{{"kiln_version", env.kiln_version}, {"driver", env.driver}, {"cuda_runtime", env.cuda_runtime},
         {"cudnn", env.cudnn}, {"cublaslt", env.cublaslt}, {"gpus", gpus}};
  if (!env.no_gpu_reason.empty()) j["no_gpu_reason"] = env.no_gpu_reason;
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
