// kiln env [--json]: the machine engines are built for: CPU (model, cores, instruction
// sets), CUDA driver and runtime, cuDNN, cuBLASLt, the CUDA architectures this kiln's
// kernels carry, each GPU with compute capability and memory (and whether this kiln can
// use it), or why there is none (no driver, driver too old, no GPU), kiln version.
#include <iomanip>
#include <iostream>

#include "commands.h"
#include "core/json_text.h"
#include "engine/environment.h"

namespace kiln::cli {
namespace {

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

int run_env(bool as_json) {
  auto env = engine::detect_environment();
  if (!env.ok()) return report_error("env", env.status());
  if (as_json) {
    std::cout << json_text(engine::to_json(*env), 2) << std::endl;
    return kExitOk;
  }
  auto show = [](const std::string& v) { return v.empty() ? std::string("not found") : v; };
  const engine::CpuInfo& cpu = env->cpu;
  std::cout << "kiln          " << env->kiln_version << "\n"
            << "CPU           " << (cpu.model.empty() ? "unknown model" : cpu.model) << " (" << cpu.arch << "), "
            << cpu.physical_cores << " cores, " << cpu.logical_cpus << " threads, " << cpu.usable_cpus
            << " usable by kiln\n"
            << "CPU features  " << (cpu.instruction_sets.empty() ? "none of note" : joined(cpu.instruction_sets)) << "\n"
            << "CUDA driver   " << show(env->driver) << "\n"
            << "CUDA runtime  " << show(env->cuda_runtime) << "\n"
            << "cuDNN         " << show(env->cudnn) << "\n"
            << "cuBLASLt      " << show(env->cublaslt) << "\n"
            << "CUDA kernels  "
            << (env->cuda_architectures.empty() ? "none (built without CUDA)" : joined(env->cuda_architectures)) << "\n";
  if (env->gpus.empty()) std::cout << "GPU           none (" << env->no_gpu_reason << "); engines build for the CPU\n";
  for (const engine::GpuInfo& g : env->gpus) {
    std::cout << "GPU " << g.index << "         " << g.name << ", compute capability " << g.compute_capability << ", "
              << std::fixed << std::setprecision(1) << static_cast<double>(g.memory_bytes) / (1ull << 30) << " GiB";
    if (const std::string why_not = engine::unsupported_reason(g); !why_not.empty())
      std::cout << "; kiln cannot use it: " << why_not;
    std::cout << "\n";
  }
  if (!env->override_path.empty()) std::cout << "(simulated: KILN_ENV_OVERRIDE=" << env->override_path << ")\n";
  std::cout << std::flush;
  return kExitOk;
}

}  // namespace

Runner register_env(CLI::App& app) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("env", "Show the CPU, GPUs, CUDA libraries and CUDA architectures engines are built for");
  sub->add_flag("--json", *as_json, "Print as JSON");
  return [as_json] { return run_env(*as_json); };
}

}  // namespace kiln::cli
