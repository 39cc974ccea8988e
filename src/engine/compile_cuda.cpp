// The CUDA half of compile() and the replay of an engine file's plans (CUDA builds only).
#include "engine/compile_cuda.h"

#if KILN_ENGINE_CUDA
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "backends/cpu/executor.h"
#include "backends/cuda/batch_context.h"
#include "backends/cuda/engine.h"
#include "backends/cuda/timing_cache.h"
#include "core/parallel_for.h"
#include "engine/graph_serialization.h"
#include "engine/sha256.h"
#include "engine/verification.h"
#include "passes/pipeline.h"

namespace kiln::engine {

namespace {

cuda::BuildOptions backend_options(const BuildOptions& o) {
  cuda::BuildOptions c;
  c.precision = o.precision;
  c.tune = o.tune && o.runtime_compiled_kernels;
  if (o.tune_candidates > 0) c.tune_candidates = o.tune_candidates;
  c.runtime_compiled_kernels = o.runtime_compiled_kernels;
  c.cancel = o.cancel;
  c.timing_cache = o.runtime_compiled_kernels;
  c.timing_cache_path = o.timing_cache.string();
  c.max_workspace_bytes = static_cast<size_t>(o.workspace_gb * (1ull << 30));
  return c;
}

PreparedPlan describe(const cuda::Engine& e) {
  PreparedPlan p;
  p.input = e.input_dims(0);
  p.structure_sha256 = to_hex(Sha256().update(e.structure()).finish());
  for (const cuda::Tactic& t : e.tactics()) p.steps.push_back({t.node, "", t.tactic});
  const cuda::MemoryReport m = e.memory();
  p.arena_bytes = m.arena;
  p.workspace_bytes = m.workspace;
  p.io_bytes = m.io;
  p.cublas_bytes = m.cublas;
  return p;
}

std::string fixed(double v, int digits = 2) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// One line per planned batch: where its time went and how plans were found.
std::string planned_line(int64_t batch, const cuda::BuildStats& s) {
  return "planned batch " + std::to_string(batch) + " in " + fixed(s.total_s) + " s (compile " + fixed(s.compile_s) +
         " s, tune " + fixed(s.tune_s) + " s; " + std::to_string(s.conv_signatures) + " conv signatures, " +
         std::to_string(s.cache_hits) + " from the timing cache" +
         (s.plans_restored_ahead ? " (" + std::to_string(s.plans_restored_ahead) + " plans restored ahead)" : "") +
         (s.over_workspace ? ", " + std::to_string(s.over_workspace) + " candidates over the workspace cap skipped" : "") +
         (s.compile_processes ? ", compiled in " + std::to_string(s.compile_processes) + " worker processes" : "") + ")";
}

// The profile's batches between prepared sizes that run faster split (batch_splits.h), each
// way timed on the GPU; none where the engines' inputs and outputs do not stack by rows.
Result<BatchSplits> measure_batch_splits(const CudaEngines& e) {
  std::vector<const cuda::Engine*> engines;
  for (const auto& x : e.engines) engines.push_back(x.get());
  if (!cuda::BatchContext::check_stackable(engines).ok()) return BatchSplits{};
  KILN_ASSIGN_OR_RETURN(auto timer, cuda::ChunkTimer::create(engines));
  std::map<std::vector<int64_t>, double> timed;  // padded sizes repeat
  return choose_batch_splits(e.batches, [&](const std::vector<int64_t>& chunks) -> Result<double> {
    if (auto it = timed.find(chunks); it != timed.end()) return it->second;
    KILN_ASSIGN_OR_RETURN(const double ms, timer->median_ms(e.indices_of(chunks), 15));
    return timed[chunks] = ms;
  });
}

// "measured batches ... in 0.9 s: split side by side 17 = 16 + 1, ..." or that none split.
std::string splits_line(const BatchSplits& splits, double seconds) {
  const std::string line = "measured batches between prepared sizes in " + fixed(seconds) + " s: ";
  return line + (splits.empty() ? "each runs padded to the next prepared size" : "split side by side " + splits_text(splits));
}

}  // namespace

Status compile_cuda(const GraphForBatch& graph_for_batch, const ir::Graph* reference, const BuildOptions& options,
                    const Progress& say, CompiledModel& out) {
  BuildInfo& info = out.metadata.build;
  const std::string target = options.device.to_string() + ", " + std::string(to_string(options.precision));
  if (!cuda::gpu_available()) {
    info.verification_note = "not verified: no CUDA backend can run here (no usable GPU; engine recorded for " + target +
                             " without plans)";
    return Status::Ok();
  }
  if (cudaSetDevice(options.device.index) != cudaSuccess)
    return error(StatusCode::kNotFound, options.device.to_string(), ": cannot select this GPU");
  const cuda::BuildOptions backend = backend_options(options);
  auto engines = std::make_shared<CudaEngines>();
  engines->weights = options.weights ? options.weights : std::make_shared<cuda::WeightStore>();
  std::string recorded;
  std::map<std::string, int> counts;
  for (int64_t batch : prepared_batches(options.batch)) {
    say("planning batch " + std::to_string(batch));
    KILN_ASSIGN_OR_RETURN(const ir::Graph* g, graph_for_batch(batch));
    KILN_ASSIGN_OR_RETURN(auto built, cuda::Engine::build(*g, backend, engines->weights));
    say(planned_line(batch, built->build_stats()));
    out.plans.prepared.push_back(describe(*built));
    recorded += built->recorded_plans();
    for (const cuda::Tactic& t : built->tactics()) ++counts[t.tactic.substr(0, t.tactic.find(':'))];
    if (reference && engines->engines.empty()) {
      say("verifying batch " + std::to_string(batch));
      auto inputs = verification_inputs(*g, info);
      if (inputs) {
        KILN_ASSIGN_OR_RETURN(auto context, cuda::ExecutionContext::create(*built));
        KILN_ASSIGN_OR_RETURN(auto got, context->run(*inputs));
        KILN_ASSIGN_OR_RETURN(auto ref_exec, cpu::Executor::create(*reference));
        KILN_ASSIGN_OR_RETURN(auto want, ref_exec.run(*inputs));
        KILN_ASSIGN_OR_RETURN(double err, max_relative_error(got, want));
        KILN_RETURN_IF_ERROR(check_error(err, max_verify_error(options.precision),
                                         "the CUDA engine (" + target + ", batch " + std::to_string(batch) + ")", info));
      }
    }
    engines->batches.push_back(batch);
    engines->engines.push_back(std::move(built));
  }
  if (engines->batches.size() > 1) {
    const auto t0 = std::chrono::steady_clock::now();
    // A GPU short of memory for the measuring contexts keeps every batch padded.
    auto splits = measure_batch_splits(*engines);
    if (splits.ok()) {
      engines->splits = out.plans.splits = std::move(*splits);
      say(splits_line(engines->splits, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
    } else {
      say("batches between prepared sizes run padded: " + splits.status().message());
    }
  }
  out.plans.weight_bytes = engines->weights->bytes();
  out.plans.recorded = std::move(recorded);
  info.tactics.clear();
  for (const auto& [tactic, n] : counts) info.tactics += (info.tactics.empty() ? "" : ", ") + tactic + " x" + std::to_string(n);
  out.cuda = std::move(engines);
  return Status::Ok();
}

Result<std::shared_ptr<CudaEngines>> load_cuda_engines(const std::filesystem::path& path, const Engine& engine) {
  const EnginePlans& plans = engine.info.plans;
  const BuildInfo& build = engine.info.metadata.build;
  if (plans.empty())
    return error(StatusCode::kIncompatible, path.string(),
                 ": engine has no CUDA plans (built where no GPU could run it)");
  if (!cuda::gpu_available()) return error(StatusCode::kUnsupported, path.string(), ": no CUDA device available");
  if (cudaSetDevice(build.device.index) != cudaSuccess)
    return error(StatusCode::kNotFound, build.device.to_string(), ": cannot select this GPU");
  cuda::BuildOptions backend;
  backend.precision = build.precision;
  backend.timing_cache = false;
  backend.recorded_plans = cuda::TimingCache::parse(plans.recorded);
  auto engines = std::make_shared<CudaEngines>();
  engines->weights = std::make_shared<cuda::WeightStore>();
  const bool batch_bound = ir::is_static(*engine.graph.inputs.at(0)->shape);
  // Copies of the loaded graph, not the file read again: it may have changed since it was
  // checked (and signed).
  const SerializedGraph symbolic = batch_bound ? SerializedGraph{} : serialize_graph(engine.graph);
  // One prepared batch's engine, its recorded plans restored.
  auto restore = [&](const PreparedPlan& p) -> Result<std::unique_ptr<cuda::Engine>> {
    if (cudaSetDevice(build.device.index) != cudaSuccess)
      return error(StatusCode::kNotFound, build.device.to_string(), ": cannot select this GPU");
    ir::Graph bound;
    const ir::Graph* g = &engine.graph;
    if (!batch_bound) {  // one graph with a symbolic batch: bind this plan's batch
      KILN_ASSIGN_OR_RETURN(bound, deserialize_graph(symbolic.graph, symbolic.weights, path.string()));
      passes::OptimizeOptions o;
      o.bind_dims[(*bound.inputs.at(0)->shape)[0].symbol] = p.input[0];
      KILN_RETURN_IF_ERROR(passes::optimize(bound, o));
      g = &bound;
    }
    auto built = cuda::Engine::build(*g, backend, engines->weights);
    if (!built.ok())
      return error(built.status().code() == StatusCode::kIncompatible ? StatusCode::kIncompatible : built.status().code(),
                   path.string(), ": batch ", p.input[0], ": ", built.status().message());
    if (to_hex(Sha256().update((*built)->structure()).finish()) != p.structure_sha256)
      return error(StatusCode::kIncompatible, path.string(), ": batch ", p.input[0],
                   ": the plan made here differs from the recorded one (another kiln build?)");
    return built;
  };
  // A profile's prepared batches are restored side by side: each is mostly host work
  // (binding the graph, restoring cuDNN's plans and loading their kernels), and a 1:32:32
  // profile prepares ten.
  std::vector<std::unique_ptr<cuda::Engine>> restored(plans.prepared.size());
  std::vector<Status> statuses(plans.prepared.size());
  core::parallel_for(plans.prepared.size(), [&](size_t i) {
    auto r = restore(plans.prepared[i]);
    if (r.ok()) restored[i] = std::move(r).value();
    else statuses[i] = r.status();
  });
  for (size_t i = 0; i < restored.size(); ++i) {
    KILN_RETURN_IF_ERROR(statuses[i]);
    engines->batches.push_back(plans.prepared[i].input[0]);
    engines->engines.push_back(std::move(restored[i]));
  }
  engines->splits = plans.splits;
  return engines;
}

Result<std::string> plans_unrestorable_reason(const EngineInfo& info) {
  if (!info.metadata.build.device.is_cuda() || !cuda::gpu_available()) return std::string();
  KILN_ASSIGN_OR_RETURN(Engine engine, load_engine(info.path));
  auto engines = load_cuda_engines(info.path, engine);
  if (engines.ok()) return std::string();
  if (engines.status().code() != StatusCode::kIncompatible) return engines.status();
  return engines.status().message();
}

}  // namespace kiln::engine

#else

namespace kiln::engine {

Result<std::shared_ptr<CudaEngines>> load_cuda_engines(const std::filesystem::path& path, const Engine&) {
  return error(StatusCode::kUnsupported, path.string(), ": kiln was built without CUDA");
}

Result<std::string> plans_unrestorable_reason(const EngineInfo&) { return std::string(); }

}  // namespace kiln::engine
#endif
