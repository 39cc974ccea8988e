// kiln env [--json]: the environment engines are built for: CUDA driver and runtime,
// cuDNN, cuBLASLt, each GPU with compute capability and memory, kiln version.
#include <iomanip>
#include <iostream>

#include "commands.h"
#include "engine/environment.h"

namespace kiln::cli {
namespace {

int run_env(bool as_json) {
  auto env = engine::detect_environment();
  if (!env.ok()) return report_error("env", env.status());
  if (as_json) {
    std::cout << engine::to_json(*env).dump(2) << std::endl;
    return kExitOk;
  }
  auto show = [](const std::string& v) { return v.empty() ? std::string("not found") : v; };
  std::cout << "kiln          " << env->kiln_version << "\n"
            << "CUDA driver   " << show(env->driver) << "\n"
            << "CUDA runtime  " << show(env->cuda_runtime) << "\n"
            << "cuDNN         " << show(env->cudnn) << "\n"
            << "cuBLASLt      " << show(env->cublaslt) << "\n";
  if (env->gpus.empty()) std::cout << "GPU           none (" << env->no_gpu_reason << "); engines build for the CPU\n";
  for (const engine::GpuInfo& g : env->gpus)
    std::cout << "GPU " << g.index << "         " << g.name << ", compute capability " << g.compute_capability << ", "
              << std::fixed << std::setprecision(1) << static_cast<double>(g.memory_bytes) / (1ull << 30) << " GiB\n";
  if (!env->override_path.empty()) std::cout << "(simulated: KILN_ENV_OVERRIDE=" << env->override_path << ")\n";
  std::cout << std::flush;
  return kExitOk;
}

}  // namespace

Runner register_env(CLI::App& app) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("env", "Show the GPUs and CUDA libraries engines are built for");
  sub->add_flag("--json", *as_json, "Print as JSON");
  return [as_json] { return run_env(*as_json); };
}

}  // namespace kiln::cli
