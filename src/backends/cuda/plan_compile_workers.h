// Cold builds compile their conv plans in worker processes. Most of a cold build is cuDNN
// compiling its runtime-fusion kernels, and cuDNN runs those compiles one at a time within a
// process (two candidates compiled on two threads took as long as on one), but processes do
// not wait for each other: on an H100, two and four yolo11n FP16 cold builds run at once took
// 11.3 and 11.1 s each, one alone 11.0 s. So a build with many plans to compile first plans
// its graph dry, noting every conv request the planner would compile, has worker processes
// (the host program started with a worker argument, set_plan_compile_worker) compile them
// side by side and serialize the plans, and restores those plans; the planner then only
// times them. Without a worker command, with few plans to compile, or where a worker fails,
// plans compile in process as before. Each worker holds a CUDA context of its own (a few
// hundred MB of device memory) while it runs.
#pragma once

#include <string>
#include <vector>

#include "backends/cuda/plan.h"
#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::cuda {

// The command (program and leading arguments) that runs run_plan_compile_worker when given
// two more arguments, the request file and the plans file; empty (the default): compile in
// process. A host program sets it once, before it builds.
void set_plan_compile_worker(std::vector<std::string> command);

// Compiles in worker processes the conv plans that planning `graph` with `b` would compile,
// into b.precompiled_plans() (BuildStats::compile_processes counts the workers that
// delivered). Does nothing without a worker command or with few plans to compile. The
// engine calls it for a batch's first build; a warm one restores its cached plans instead
// (restore_cached_conv_plans, plan.h), and compiles its few missing plans in process.
Status precompile_in_workers(const ir::Graph& graph, PlanBuilder& b);

// The worker: compiles the requests in `requests_path` (written by precompile_in_workers) and
// writes their serialized plans to `plans_path` (a timing-cache file).
Status run_plan_compile_worker(const std::string& requests_path, const std::string& plans_path);

}  // namespace kiln::cuda
