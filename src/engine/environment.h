// The machine kiln runs on (CPU, GPUs, CUDA driver/runtime, cuDNN, cuBLASLt, the CUDA
// architectures this build carries, kiln version) and the fingerprint of it that every
// engine file records.
//
// Test/simulation hook: when the environment variable KILN_ENV_OVERRIDE names a JSON file,
// its fields replace the detected ones: driver, cuda_runtime, cudnn, cublaslt,
// kiln_version, gpus ([{name, compute_capability, memory_bytes}]), and the shortcuts
// gpu_name / compute_capability (applied to every GPU, creating GPU 0 if there is none).
// CI, which has no GPU, uses it to simulate GPUs, library upgrades and old drivers (with
// "gpus": [] and an old "driver", the no-GPU cause is worked out from the simulated versions).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
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
// "" when this build's CUDA kernels run on `gpu`, else why not (one line naming its compute
// capability and the architectures carried).
std::string unsupported_reason(const GpuInfo& gpu);

// The CPU backend's speed depends on the cores and the SIMD extensions OpenBLAS and the
// compiler can use.
struct CpuInfo {
  std::string arch;            // "x86_64", "aarch64"
  std::string model;           // "AMD EPYC 7763 64-Core Processor"; "" when /proc/cpuinfo names none
  int physical_cores = 0;      // distinct (package, core) pairs; logical_cpus where not reported
  int logical_cpus = 0;        // hardware threads
  int usable_cpus = 0;         // those this process may keep busy: its affinity, capped by its cgroup's CPU quota
  std::vector<std::string> instruction_sets;  // kiln_instruction_sets() the CPU has, /proc/cpuinfo names
};

// Why a machine shows no GPU, for scripts; no_gpu_reason says it in words.
enum class NoGpuCause { kNone, kBuiltWithoutCuda, kNoDriver, kDriverTooOld, kNoDevice, kCudaError };
// "none", "built_without_cuda", "no_driver", "driver_too_old", "no_device", "cuda_error".
std::string to_string(NoGpuCause cause);

struct Environment {
  std::string kiln_version;
  std::string driver;        // CUDA version the driver supports, "12.4"; "" when no driver is installed
  std::string cuda_runtime;  // "12.4"
  std::string cudnn;         // "9.1.0"
  std::string cublaslt;      // "12.4.5"
  std::vector<std::string> cuda_architectures;  // the kernels' nvcc targets: "sm_90", "compute_90"
  std::vector<GpuInfo> gpus;
  NoGpuCause no_gpu_cause = NoGpuCause::kNone;  // why `gpus` is empty
  std::string no_gpu_reason;
  std::string device_query_error;  // the CUDA device query's error other than "no device", if any
  CpuInfo cpu;
  std::string override_path;  // KILN_ENV_OVERRIDE file applied, if any
};

// Why a CUDA build finds no GPU: no driver (`driver` ""), a driver for an older CUDA major
// than the runtime, the device query's error, or else no device.
std::pair<NoGpuCause, std::string> explain_no_gpu(const std::string& driver, const std::string& cuda_runtime,
                                                  const std::string& device_query_error);

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
