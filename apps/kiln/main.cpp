// kiln: build, inspect and run YOLO engines. Parses the command line and dispatches.
#include <filesystem>
#include <iostream>
#include <map>
#include <string_view>

#include "commands.h"
#if KILN_HAS_CUDA
#include "backends/cuda/plan_compile_workers.h"
#endif

namespace kiln::cli {

int report_error(const std::string& command, const Status& status) {
  std::cerr << "kiln " << command << ": error: " << status.message() << std::endl;
  return kExitError;
}

}  // namespace kiln::cli

int main(int argc, char** argv) {
  using namespace kiln::cli;
#if KILN_HAS_CUDA
  // Cold builds compile their conv plans in kiln processes side by side
  // (backends/cuda/plan_compile_workers.h); this is how such a worker starts.
  constexpr std::string_view kPlanCompileWorker = "--plan-compile-worker";
  if (argc == 4 && argv[1] == kPlanCompileWorker) {
    const kiln::Status s = kiln::cuda::run_plan_compile_worker(argv[2], argv[3]);
    if (!s.ok()) std::cerr << "kiln: plan-compile worker: " << s.message() << std::endl;
    return s.ok() ? 0 : kExitError;
  }
  std::error_code ec;
  if (const auto self = std::filesystem::read_symlink("/proc/self/exe", ec); !ec)
    kiln::cuda::set_plan_compile_worker({self.string(), std::string(kPlanCompileWorker)});
#endif
  CLI::App app{"kiln: fast, portable engines for Ultralytics YOLO models", "kiln"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("kiln ") + KILN_VERSION);

  std::map<CLI::App*, Runner> runners;
  auto add = [&](Runner (*reg)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    Runner r = reg(app);
    runners[app.get_subcommands({})[before]] = std::move(r);
  };
  add(register_info);
  add(register_predict);
  add(register_bench);
  add(register_val);
  add(register_run);
  add(register_track);
  add(register_pipeline);
  add(register_build);
  add(register_check);
  add(register_rebuild);
  add(register_env);
  add(register_cache);
  add(register_triton_repo);
  // After the commands: a subcommand takes its parent's footer when it is added.
  app.footer("Each command's options: kiln <command> --help (e.g. kiln predict --help).");

  // CLI11 would say only "The following argument was not expected"; name the word and
  // the commands there are.
  if (argc > 1 && argv[1][0] != '-') {
    std::string names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
      known = known || sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::cerr << "kiln: error: unknown command '" << argv[1] << "' (commands: " << names << "; kiln --help)" << std::endl;
      return kExitError;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // One line, like every other error, naming the command and where its options are listed.
    std::string where = "kiln";
    for (const CLI::App* sub : app.get_subcommands({}))
      if (sub->parsed()) where += " " + sub->get_name();
    std::cerr << where << ": error: " << e.what() << " (see " << where << " --help)" << std::endl;
    return kExitError;
  }
  for (auto& [sub, run] : runners)
    if (sub->parsed()) return run();
  return kExitError;
}
