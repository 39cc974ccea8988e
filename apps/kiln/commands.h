// Each subcommand registers itself on the CLI11 app and returns the function that runs
// it. A command returns its exit code; errors are printed by report_error().
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "kiln/status.h"

namespace kiln::cli {

using Runner = std::function<int()>;

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 2;        // bad input, I/O, unsupported, internal
inline constexpr int kExitNeedsRebuild = 3; // kiln check: engine incompatible

// Prints "kiln <command>: error: <message>" as one line on stderr; returns kExitError.
int report_error(const std::string& command, const Status& status);

Runner register_info(CLI::App& app);
Runner register_predict(CLI::App& app);
Runner register_bench(CLI::App& app);
Runner register_val(CLI::App& app);
Runner register_run(CLI::App& app);  // raw tensors in and out (cmd_run.cpp)
Runner register_track(CLI::App& app);
Runner register_pipeline(CLI::App& app);  // kiln.yaml pipelines (cmd_pipeline.cpp)
Runner register_triton_repo(CLI::App& app);  // Triton model repository (cmd_triton_repo.cpp)

// Engine commands: build, check, rebuild, env, cache (cmd_<name>.cpp).
Runner register_build(CLI::App& app);
Runner register_check(CLI::App& app);
Runner register_rebuild(CLI::App& app);
Runner register_env(CLI::App& app);
Runner register_cache(CLI::App& app);
// The --on-mismatch auto|prompt|fail option the engine commands share (cmd_check.cpp).
void add_on_mismatch_option(CLI::App& sub, std::string& value);

}  // namespace kiln::cli
