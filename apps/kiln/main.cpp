// kiln: build, inspect and run YOLO engines. Parses the command line and dispatches.
#include <iostream>
#include <map>

#include "commands.h"

namespace kiln::cli {

int report_error(const std::string& command, const Status& status) {
  std::cerr << "kiln " << command << ": error: " << status.message() << std::endl;
  return kExitError;
}

}  // namespace kiln::cli

int main(int argc, char** argv) {
  using namespace kiln::cli;
  CLI::App app{"kiln: fast, portable engines for Ultralytics YOLO models"};
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
    int code = app.exit(e);
    return code == 0 ? 0 : kExitError;
  }
  for (auto& [sub, run] : runners)
    if (sub->parsed()) return run();
  return kExitError;
}
