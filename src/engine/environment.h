// The machine kiln runs on (GPUs, CUDA driver/runtime, cuDNN, cuBLASLt, kiln version) and
// the fingerprint of it that every engine file records.
//
// Test/simulation hook: when the environment variable KILN_ENV_OVERRIDE names a JSON file,
// its fields replace the detected ones: driver, cuda_runtime, cudnn, cublaslt,
// kiln_version, gpus ([{name, compute_capability, memory_bytes}]), and the shortcuts
// gpu_name / compute_capability (applied to every GPU, creating GPU 0 if there is none).
// CI, which has no GPU, uses it to simulate GPUs and library upgrades.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kiln/options.h"
#include "kiln/status.h"

namespace kiln::engine {

struct GpuInfo {
  int index = 0;
  std::string name;
  std::string compute_capability;  // "8.9"
  uint64_t memory_bytes = 0;
};

struct Environment {
  std::string kiln_version;
  std::string driver;        // CUDA driver API version, "12.4"; "" when unknown
  std::string cuda_runtime;  // "12.4"
  std::string cudnn;         // "9.1.0"
  std::string cublaslt;      // "12.4.5"
  std::vector<GpuInfo> gpus;
  std::string no_gpu_reason;  // why `gpus` is empty
  std::string override_path;  // KILN_ENV_OVERRIDE file applied, if any
};

// Devices are kiln::Device (kiln/options.h), parsed once at the edge.
using kiln::Device;
using kiln::parse_device;

// What an engine was built for. GPU and library fields are empty for device "cpu".
struct Fingerprint {
  std::string device_kind;  // "cpu" | "cuda"
  std::string gpu_name;
  std::string compute_capability;
  std::string driver;
  std::string cuda_runtime;
  std::string cudnn;
  std::string cublaslt;
  std::string kiln_version;
  bool operator==(const Fingerprint&) const = default;
};
nlohmann::json to_json(const Fingerprint& fp);
// InvalidArgument when a field has the wrong type.
Result<Fingerprint> fingerprint_from_json(const nlohmann::json& j);

// Detects the current environment, then applies KILN_ENV_OVERRIDE. A missing GPU or CUDA
// is not an error (no_gpu_reason says why); a malformed override file is.
Result<Environment> detect_environment();
nlohmann::json to_json(const Environment& env);

// The fingerprint an engine built now for `device` gets; NotFound when the device is a
// GPU that this machine does not have.
Result<Fingerprint> fingerprint_for(const Environment& env, const Device& device);

// "12.4.1" -> "12"; "" stays "".
std::string major_version(const std::string& version);

}  // namespace kiln::engine
