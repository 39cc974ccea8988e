// kiln bench --model MODEL [--precision fp32,tf32,fp16,int8] [--batch 1,8,32] [--iters N] [--json]
// [--profile] [--no-tune] [--tune-candidates N] [--timing-cache PATH]: builds a CUDA engine per (precision, batch),
// warms up, then times each replay of the captured CUDA graph with CUDA events: median /
// p95 / p99 GPU ms per batch, images/s, build time split into phases (import+optimize,
// cuDNN heuristics, plan compiles, tuning) and activation-arena peak. Each row is printed
// when its run ends. --profile adds, per run, a per-step GPU time table (CUDA events around
// each step of a one-lane graph replay, sorted by time). Dynamic exports are bound to each batch and
// --imgsz; static ones run only at their own batch. --data DATA.yaml validates the model at
// each fp32/fp16 precision first (kiln val's figures) and adds its mAP50-95 (top-1 for
// classify) to the rows; --markdown ends with a summary in Ultralytics' benchmark layout
// (model file size, mAP, ms/img, FPS), --csv FILE writes the rows as CSV. GPU memory is the
// context's activation arena plus the cuDNN workspace (the weights are not counted).
// --task / --names supply what a model without metadata lacks for --source and --data.
// --source IMAGE times Model::predict end to end instead (bench_end_to_end.h), on the GPU or
// with --device cpu on the CPU backend (fp32 and int8 beside each other, --data adding mAP).
// --engine-batch MIN:OPT:MAX then runs each --batch n on one engine built for that profile,
// as the engine runs n (padded or split side by side), beside the engine built for n.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <vector>

#include "bench_end_to_end.h"
#include "commands.h"
#include "core/file_util.h"
#include "core/json_text.h"
#include "engine/compile.h"
#include "engine/cuda_engines.h"
#include "model_args.h"
#include "onnx/importer.h"
#include "option_flags.h"
#include "val_run.h"
#if KILN_HAS_CUDA
#include "backends/cuda/batch_context.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/engine.h"
#endif

namespace kiln::cli {
namespace {

struct BenchOptions {
  std::string model;
  std::vector<std::string> precisions = {"fp32", "fp16"};  // as given; precisions_flag parses them
  std::vector<int64_t> batches = {1};
  int iters = 200;
  int warmup = 20;
  int imgsz = 640;
  bool json = false;
  bool no_tune = false;
  int tune_candidates = 0;  // 0: the CUDA backend's default
  double workspace_gb = 0;  // 0: the build's default cap
  bool profile = false;
  int profile_top = 25;
  std::string timing_cache;
  std::string source;  // an image: time Model::predict end to end instead (bench_end_to_end.h)
  std::string data;    // dataset: accuracy per precision beside the timings
  std::string csv;
  bool markdown = false;
  std::string task, names;  // for models without metadata (--source, --data)
  std::string device;       // --source only: where predict runs
  Int8Arguments int8;
  std::string engine_batch;  // MIN:OPT:MAX: also time each batch on one engine for this profile
};

#if KILN_HAS_CUDA
struct BenchRow {
  std::string precision;
  int64_t batch = 0;
  std::vector<int64_t> input;  // the engine's input shape (static exports keep their own size)
  double build_s = 0, median_ms = 0, p95_ms = 0, p99_ms = 0, images_per_s = 0;
  double import_s = 0;
  cuda::BuildStats stats;
  cuda::MemoryReport memory;
  size_t device_bytes = 0;  // cudaMemGetInfo's drop over compile + one context
  double load_ms = NAN, load_read_ms = NAN;  // engine file -> runnable engine; the read part
  cuda::BuildStats load_stats;               // the replay's (plans restored, none tuned)
  bool load_identical = false;
  std::string load_note;
  double accuracy = NAN;  // --data: mAP50-95 (classify: top-1) at this precision
  int direct_convs = 0, convs = 0;
  std::string skipped;
  std::vector<cuda::StepTime> profile;
  std::vector<char> critical;  // by profiled step: on the schedule's critical path
  int lanes = 1;
};

double percentile(std::vector<float> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  return v[i];
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The engine file's round trip: writes the compiled engine, loads it back (reading, graph,
// replay of the recorded plans: no tuning or compiling) and checks that the loaded engine
// gives the compiled one's outputs bit for bit on `input`.
Status bench_load(const engine::CompiledModel& compiled, const std::vector<ir::Tensor>& input,
                  const std::vector<ir::Tensor>& want, BenchRow& row) {
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("kiln-bench-" + std::to_string(::getpid()) + ".kiln");
  KILN_RETURN_IF_ERROR(engine::save_engine(file, engine::encode_engine_file(compiled.metadata, compiled.graph, compiled.plans)));
  const auto t0 = std::chrono::steady_clock::now();
  auto loaded = engine::load_engine(file);
  row.load_read_ms = ms_since(t0);
  Result<std::shared_ptr<engine::CudaEngines>> engines = loaded.ok() ? engine::load_cuda_engines(file, *loaded)
                                                                     : Result<std::shared_ptr<engine::CudaEngines>>(loaded.status());
  row.load_ms = ms_since(t0);
  std::error_code ec;
  std::filesystem::remove(file, ec);
  KILN_RETURN_IF_ERROR(engines.status());
  row.load_stats = (*engines)->engines.front()->build_stats();
  KILN_ASSIGN_OR_RETURN(auto ctx, cuda::ExecutionContext::create(*(*engines)->engines.front()));
  KILN_ASSIGN_OR_RETURN(auto got, ctx->run(input));
  row.load_identical = got.size() == want.size();
  for (size_t i = 0; i < got.size() && row.load_identical; ++i)
    row.load_identical = got[i].nbytes() == want[i].nbytes() && std::memcmp(got[i].raw(), want[i].raw(), got[i].nbytes()) == 0;
  return Status::Ok();
}

// Random image-like input (never zeros: they can run faster than real data).
ir::Tensor random_input(const std::vector<int64_t>& dims) {
  ir::Tensor input(ir::DType::kFloat32, dims);
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (int64_t i = 0; i < input.numel(); ++i) input.data<float>()[i] = u(rng);
  return input;
}

// o.warmup untimed runs of enqueue() on `stream`, then o.iters timed by CUDA events: GPU ms.
template <typename Enqueue>
Status time_replays(const BenchOptions& o, cudaStream_t stream, Enqueue enqueue, std::vector<float>& ms) {
  std::vector<cudaEvent_t> ev(2 * static_cast<size_t>(o.iters), nullptr);
  Status st = Status::Ok();
  for (auto& e : ev)
    if (st.ok()) st = cuda::cuda_status(cudaEventCreate(&e), "cudaEventCreate");
  for (int i = 0; i < o.warmup + 1 && st.ok(); ++i) st = enqueue();
  if (st.ok()) st = cuda::cuda_status(cudaStreamSynchronize(stream), "warm-up");
  for (int i = 0; i < o.iters && st.ok(); ++i) {
    st = cuda::cuda_status(cudaEventRecord(ev[2 * i], stream), "cudaEventRecord");
    if (st.ok()) st = enqueue();
    if (st.ok()) st = cuda::cuda_status(cudaEventRecord(ev[2 * i + 1], stream), "cudaEventRecord");
  }
  if (st.ok()) st = cuda::cuda_status(cudaStreamSynchronize(stream), "timed runs");
  for (int i = 0; i < o.iters && st.ok(); ++i) {
    float t = 0;
    st = cuda::cuda_status(cudaEventElapsedTime(&t, ev[2 * i], ev[2 * i + 1]), "cudaEventElapsedTime");
    ms.push_back(t);
  }
  for (auto& e : ev)
    if (e) cudaEventDestroy(e);
  return st;
}

// The model's input as bench builds it: a dynamic batch and a dynamic size are apart
// (OSNet exports take any batch at 256x128); a static export runs only at its own batch.
struct ModelInput {
  bool dynamic_size = false;
  int64_t static_batch = 0;  // 0: dynamic
};

Result<ModelInput> model_input(const std::string& model) {
  KILN_ASSIGN_OR_RETURN(ir::Graph probe, onnx::import_model(model));
  const ir::Shape* shape = probe.inputs.empty() || !probe.inputs[0]->shape ? nullptr : &*probe.inputs[0]->shape;
  ModelInput in;
  in.dynamic_size = shape && std::any_of(shape->begin() + std::min<size_t>(shape->size(), 2), shape->end(),
                                         [](const ir::Dim& d) { return !d.is_known(); });
  if (shape && !shape->empty() && (*shape)[0].is_known()) in.static_batch = (*shape)[0].value;
  return in;
}

engine::BuildOptions build_options(const BenchOptions& o, Precision precision, const Int8Options& int8, const ModelInput& in,
                                   BatchProfile batch) {
  engine::BuildOptions bo;
  bo.device = Device::cuda(0);
  bo.precision = precision;
  bo.int8 = int8;
  bo.batch = batch;
  bo.imgsz = in.dynamic_size ? o.imgsz : 0;
  bo.verify = false;
  bo.tune = !o.no_tune;
  bo.tune_candidates = o.tune_candidates;
  bo.timing_cache = o.timing_cache;
  if (o.workspace_gb > 0) bo.workspace_gb = o.workspace_gb;
  return bo;
}

Status bench_one(const BenchOptions& o, Precision precision, const Int8Options& int8, int64_t batch, BenchRow& row) {
  row.precision = to_string(precision);
  row.batch = batch;
  KILN_ASSIGN_OR_RETURN(const ModelInput in, model_input(o.model));
  if (in.static_batch && in.static_batch != batch) {
    row.skipped = "static batch " + std::to_string(in.static_batch);
    return Status::Ok();
  }
  const engine::BuildOptions bo = build_options(o, precision, int8, in, batch);
  size_t free_before = 0, total = 0;
  cudaMemGetInfo(&free_before, &total);
  const auto t0 = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(engine::CompiledModel compiled, engine::compile(o.model, bo));
  if (!compiled.cuda) return error(StatusCode::kUnsupported, "no CUDA engine was built");
  const cuda::Engine& e = *compiled.cuda->engines.front();
  KILN_ASSIGN_OR_RETURN(auto ctx, cuda::ExecutionContext::create(e));
  row.build_s = ms_since(t0) / 1000.0;
  size_t free_after = 0;
  cudaMemGetInfo(&free_after, &total);
  row.device_bytes = free_before > free_after ? free_before - free_after : 0;
  auto* engine = &e;
  row.stats = engine->build_stats();
  row.import_s = row.build_s - row.stats.total_s;
  row.input = engine->input_dims(0);
  row.memory = engine->memory();
  for (const auto& t : engine->tactics())
    if (t.tactic.find("cudnn") == 0 || t.tactic.find("direct") == 0) {
      ++row.convs;
      if (t.tactic.find("direct") == 0) ++row.direct_convs;
    }

  const ir::Tensor input = random_input(engine->input_dims(0));
  // The compiled engine's outputs, then the same from the engine file loaded back.
  KILN_ASSIGN_OR_RETURN(auto want, ctx->run({input}));
  if (compiled.plans.recorded.empty()) row.load_note = "not measured: no recorded plans (--no-tune)";
  else KILN_RETURN_IF_ERROR(bench_load(compiled, {input}, want, row));
  KILN_CUDA_TRY(cudaMemcpy(ctx->input(0), input.raw(), input.nbytes(), cudaMemcpyHostToDevice), "input");
  cudaStream_t stream = nullptr;
  KILN_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  std::vector<float> ms;
  Status st = time_replays(o, stream, [&] { return ctx->enqueue(stream); }, ms);
  if (st.ok() && o.profile) {
    auto prof = ctx->profile(stream, 20);
    if (prof.ok()) {
      row.profile = std::move(*prof);
      std::vector<double> step_ms;
      for (const auto& t : row.profile) step_ms.push_back(t.ms);
      row.critical.assign(row.profile.size(), 0);
      for (int i : e.schedule().critical_path(step_ms)) row.critical[i] = 1;
      row.lanes = e.schedule().lanes;
    } else {
      st = prof.status();
    }
  }
  cudaStreamDestroy(stream);
  KILN_RETURN_IF_ERROR(st);
  row.median_ms = percentile(ms, 0.5);
  row.p95_ms = percentile(ms, 0.95);
  row.p99_ms = percentile(ms, 0.99);
  row.images_per_s = batch * 1000.0 / row.median_ms;
  return Status::Ok();
}

// GPU memory one execution context adds (arena, workspaces, I/O); the weights are apart.
size_t gpu_bytes(const BenchRow& r) { return r.memory.context(); }

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

// --engine-batch: each --batch n on one engine built for the profile, run as that engine
// runs n (padded to the next prepared size, or split side by side: engine/batch_splits.h),
// beside the engine built for exactly n (`rows`, this precision's).
Status bench_engine_batch(const BenchOptions& o, Precision precision, const Int8Options& int8,
                          const BatchProfile& profile, const std::vector<BenchRow>& rows) {
  KILN_ASSIGN_OR_RETURN(const ModelInput in, model_input(o.model));
  if (in.static_batch)
    return error(StatusCode::kInvalidArgument, "--engine-batch ", profile.to_string(), ": the model's batch is static (",
                 in.static_batch, ")");
  const engine::BuildOptions bo = build_options(o, precision, int8, in, profile);
  KILN_ASSIGN_OR_RETURN(engine::CompiledModel compiled, engine::compile(o.model, bo));
  if (!compiled.cuda) return error(StatusCode::kUnsupported, "no CUDA engine was built");
  const engine::CudaEngines& engines = *compiled.cuda;
  // The profile's engine file loaded back (every prepared batch's plans restored), checked
  // bit for bit on the smallest prepared batch.
  BenchRow load;
  {
    const ir::Tensor input = random_input(engines.engines.front()->input_dims(0));
    KILN_ASSIGN_OR_RETURN(auto ctx, cuda::ExecutionContext::create(*engines.engines.front()));
    KILN_ASSIGN_OR_RETURN(auto want, ctx->run({input}));
    KILN_RETURN_IF_ERROR(bench_load(compiled, {input}, want, load));
  }
  std::cout << "\n" << precision << " engine for batches " << profile.to_string() << " (prepared";
  for (int64_t b : engines.batches) std::cout << " " << b;
  std::cout << "; built in " << std::fixed << std::setprecision(2) << compiled.metadata.build.build_seconds
            << " s; loaded from its file in " << std::setprecision(1) << load.load_ms << " ms, reading "
            << load.load_read_ms << " ms, outputs " << (load.load_identical ? "bit-identical" : "DIFFERENT") << ")\n"
            << "| precision | batch | runs as | median ms | exact-batch engine ms | ratio |\n|---|---|---|---|---|---|\n";
  std::vector<const cuda::Engine*> all;
  for (const auto& e : engines.engines) all.push_back(e.get());
  size_t free_before = 0, free_after = 0, total = 0;
  const bool measured = cudaMemGetInfo(&free_before, &total) == cudaSuccess;
  KILN_ASSIGN_OR_RETURN(auto ctx, cuda::BatchContext::create(all));
  cudaStream_t stream = nullptr;
  KILN_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  Status st = Status::Ok();
  for (int64_t n : o.batches) {
    if (n < profile.min || n > profile.max) continue;
    const std::string runs_as = engine::chunks_text(engine::chunks_for(engines.batches, engines.splits, n));
    st = ctx->select(engines.chunks_for(n));
    if (!st.ok()) break;
    std::vector<float> ms;
    st = time_replays(o, stream, [&] { return ctx->enqueue(stream); }, ms);
    if (!st.ok()) break;
    const double median = percentile(ms, 0.5);
    double exact = NAN;
    for (const BenchRow& r : rows)
      if (r.precision == to_string(precision) && r.batch == n && r.skipped.empty()) exact = r.median_ms;
    std::cout << "| " << precision << " | " << n << " | " << runs_as << " | " << std::setprecision(3) << median << " | "
              << fixed(exact, 3) << " | " << fixed(median / exact, 2) << " |\n"
              << std::flush;
  }
  cudaStreamDestroy(stream);
  // What a session that has run every size above holds: its contexts, buffers and graphs.
  if (st.ok() && measured && cudaMemGetInfo(&free_after, &total) == cudaSuccess)
    std::cout << "one batch context after these sizes: " << std::setprecision(1)
              << (static_cast<double>(free_before) - static_cast<double>(free_after)) / 1048576.0 << " MiB of device memory\n";
  return st;
}

void print_row(const BenchRow& r) {
  if (!r.skipped.empty()) {
    std::cout << "| " << r.precision << " | " << r.batch << " | | skipped (" << r.skipped << ") |||||||||||| "
              << fixed(r.accuracy, 4) << " |\n" << std::flush;
    return;
  }
  const cuda::BuildStats& b = r.stats;
  std::string input;
  for (int64_t d : r.input) input += (input.empty() ? "" : "x") + std::to_string(d);
  std::cout << std::fixed << std::setprecision(3) << "| " << r.precision << " | " << r.batch << " | " << input
            << " | " << r.median_ms
            << " | " << r.p95_ms << " | " << r.p99_ms << " | " << std::setprecision(1) << r.images_per_s << " | "
            << std::setprecision(2) << r.build_s << " | " << r.import_s << " / " << b.heuristics_s << " / "
            << b.compile_s << " / " << b.tune_s << " | " << b.conv_signatures << " / " << b.cache_hits << " ("
            << b.plans_loaded << ") / " << b.tuned << " | " << b.residual_fused << " | " << r.memory.arena / 1048576.0 << " | " << r.direct_convs
            << "/" << r.convs << " | " << gpu_bytes(r) / 1048576.0 << " | ";
  if (!std::isnan(r.accuracy)) std::cout << std::setprecision(4) << r.accuracy;
  std::cout << " |\n" << std::flush;
}

// Which of cuDNN's candidates won the tuning, by their rank in its heuristic order.
void print_wins(const BenchRow& r) {
  if (r.stats.wins_by_rank.empty()) return;
  std::cout << r.precision << " batch " << r.batch << ": tuned signatures won by cuDNN's candidate 1, 2, ...:";
  for (int n : r.stats.wins_by_rank) std::cout << " " << n;
  std::cout << "\n";
}

// Per-step times, largest first, then totals per op and per tactic kind.
void print_profile(const BenchRow& r, int top) {
  if (r.profile.empty()) return;
  double total = 0, critical = 0;
  int critical_steps = 0;
  for (size_t i = 0; i < r.profile.size(); ++i) {
    total += r.profile[i].ms;
    if (r.critical[i]) critical += r.profile[i].ms, ++critical_steps;
  }
  std::vector<size_t> sorted(r.profile.size());
  for (size_t i = 0; i < sorted.size(); ++i) sorted[i] = i;
  std::stable_sort(sorted.begin(), sorted.end(), [&](size_t a, size_t b) { return r.profile[a].ms > r.profile[b].ms; });
  std::cout << "\nprofile " << r.precision << " batch " << r.batch << ": " << r.profile.size()
            << " steps, sum of step times " << std::setprecision(3) << total << " ms (graph replay " << r.median_ms
            << " ms); on " << r.lanes << " lanes the longest chain is " << critical_steps << " steps, " << critical
            << " ms\n| ms | % | critical | node | op | tactic |\n|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < sorted.size() && static_cast<int>(i) < top; ++i) {
    const cuda::StepTime& t = r.profile[sorted[i]];
    std::cout << "| " << std::setprecision(4) << t.ms << " | " << std::setprecision(1) << 100.0 * t.ms / total << " | "
              << (r.critical[sorted[i]] ? "yes" : "") << " | " << t.node << " | " << t.op << " | "
              << t.tactic.substr(0, 90) << " |\n";
  }
  std::map<std::string, std::pair<double, int>> by_op;
  for (const auto& t : r.profile) {
    auto& e = by_op[t.op + " [" + t.tactic.substr(0, t.tactic.find(':')) + "]"];
    e.first += t.ms;
    ++e.second;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> ops(by_op.begin(), by_op.end());
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::cout << "\n| op [tactic] | steps | ms | % |\n|---|---|---|---|\n";
  for (const auto& [k, v] : ops)
    std::cout << "| " << k << " | " << v.second << " | " << std::setprecision(3) << v.first << " | "
              << std::setprecision(1) << 100.0 * v.first / total << " |\n";
  std::cout << std::flush;
}

// Ultralytics' benchmark table (format, size, mAP, ms/img, FPS) with kiln's rows.
std::string summary_markdown(const BenchOptions& o, const std::vector<BenchRow>& rows) {
  std::ostringstream s;
  std::error_code ec;
  const double size_mb = static_cast<double>(std::filesystem::file_size(o.model, ec)) / 1e6;
  s << "\n| precision | batch | status | size (MB) | " << (o.data.empty() ? "accuracy" : "mAP50-95")
    << " | ms/img | FPS | build s | arena+workspace MiB |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    s << "| " << r.precision << " | " << r.batch << " | " << (r.skipped.empty() ? "ok" : r.skipped) << " | ";
    if (r.skipped.empty())
      s << fixed(ec ? NAN : size_mb, 1) << " | " << fixed(r.accuracy, 4) << " | " << fixed(r.median_ms / r.batch, 3)
        << " | " << fixed(r.images_per_s, 1) << " | " << fixed(r.build_s, 2) << " | " << fixed(gpu_bytes(r) / 1048576.0, 1);
    else
      s << " | " << fixed(r.accuracy, 4) << " | | | |";
    s << " |\n";
  }
  return s.str();
}

std::string summary_csv(const std::vector<BenchRow>& rows) {
  std::ostringstream s;
  s << "precision,batch,skipped,accuracy,median_ms,p95_ms,p99_ms,ms_per_image,images_per_s,build_s,"
       "arena_workspace_bytes\n";
  for (const auto& r : rows)
    s << r.precision << "," << r.batch << "," << r.skipped << "," << fixed(r.accuracy, 6)
      << "," << fixed(r.median_ms, 4) << "," << fixed(r.p95_ms, 4) << "," << fixed(r.p99_ms, 4) << ","
      << (r.skipped.empty() ? fixed(r.median_ms / r.batch, 4) : "") << "," << fixed(r.images_per_s, 2) << ","
      << fixed(r.build_s, 3) << "," << gpu_bytes(r) << "\n";
  return s.str();
}

int run_bench(const BenchOptions& o, const std::vector<Precision>& precisions, const ModelOptions& metadata) {
  // Every option is checked before the device, so that a wrong one gets the same error on
  // any machine.
  if (o.iters < 1) return report_error("bench", error(StatusCode::kInvalidArgument, "--iters must be >= 1"));
  for (int64_t b : o.batches)
    if (b < 1) return report_error("bench", error(StatusCode::kInvalidArgument, "--batch sizes must be >= 1, got ", b));
  if (!o.csv.empty())
    if (Status st = check_output_path(o.csv); !st.ok()) return report_error("bench", st);
  std::optional<BatchProfile> engine_batch;
  if (!o.engine_batch.empty()) {
    auto parsed = parse_batch_profile(o.engine_batch);
    if (!parsed.ok()) return report_error("bench", error(parsed.status().code(), "--engine-batch: ", parsed.status().message()));
    engine_batch = *parsed;
  }
  const bool int8_asked = std::find(precisions.begin(), precisions.end(), Precision::kInt8) != precisions.end();
  auto int8 = parse_int8_options(o.int8, int8_asked);
  if (!int8.ok()) return report_error("bench", int8.status());
  if (!cuda::gpu_available()) return report_error("bench", error(StatusCode::kUnsupported, "no CUDA device available"));
  const std::string device = cuda::device_summary();
  if (!o.json) {
    std::cout << "kiln bench " << o.model << " on " << device << " (dynamic models at imgsz " << o.imgsz << ", "
              << o.iters
              << " timed CUDA-graph replays; tuning " << (o.no_tune ? "off" : "on") << ")\n"
              << "build phases: import+optimize / cuDNN heuristics / plan compiles / tuning (s); "
                 "signatures: distinct conv plans / from timing cache (compiled plans loaded) / tuned now\n"
              << "| precision | batch | input | median ms | p95 ms | p99 ms | images/s | build s | phases s | "
                 "signatures | residual adds fused | arena MiB | direct convs | arena+workspace MiB | "
              << (o.data.empty() ? "accuracy" : "mAP50-95 (cls: top1)") << " |\n"
              << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
              << std::flush;
  }
  // Accuracy first: kiln val through the API at each precision but tf32 (which the GPU's
  // FP32 figure stands for).
  std::map<Precision, double> accuracy;
  for (const Precision p : precisions) {
    if (o.data.empty() || p == Precision::kTf32) continue;
    ModelOptions mo = metadata;
    mo.device = Device::cuda(0);
    mo.precision = p;
    mo.int8 = *int8;
    auto figures = val_figures(o.model, o.data, mo);
    if (!figures.ok()) return report_error("bench", figures.status());
    for (const auto& [name, v] : *figures)
      if (name == "mAP50-95" || name == "top1") accuracy[p] = v;
  }
  std::vector<BenchRow> rows;
  for (const Precision p : precisions) {
    for (int64_t b : o.batches) {
      BenchRow row;
      if (accuracy.count(p)) row.accuracy = accuracy[p];
      Status st = bench_one(o, p, *int8, b, row);
      if (!st.ok()) return report_error("bench", error(st.code(), o.model, ": ", st.message()));
      if (!o.json) print_row(row);
      rows.push_back(std::move(row));
    }
  }
  if (engine_batch)
    for (const Precision p : precisions)
      if (Status st = bench_engine_batch(o, p, *int8, *engine_batch, rows); !st.ok())
        return report_error("bench", error(st.code(), o.model, ": ", st.message()));
  if (o.json) {
    nlohmann::ordered_json j;
    j["model"] = o.model;
    j["device"] = device;
    j["imgsz"] = o.imgsz;
    j["iters"] = o.iters;
    for (const auto& r : rows) {
      nlohmann::ordered_json run = {
          {"precision", r.precision}, {"batch", r.batch}, {"input", r.input}, {"skipped", r.skipped},
          {"build_s", r.build_s},
          {"import_s", r.import_s}, {"heuristics_s", r.stats.heuristics_s}, {"compile_s", r.stats.compile_s},
          {"tune_s", r.stats.tune_s}, {"conv_signatures", r.stats.conv_signatures},
          {"cache_hits", r.stats.cache_hits}, {"plans_loaded", r.stats.plans_loaded}, {"tuned", r.stats.tuned},
          {"wins_by_rank", r.stats.wins_by_rank}, {"residual_fused", r.stats.residual_fused},
          {"channel_views", r.stats.channel_views}, {"fp32_tail_nodes", r.stats.fp32_tail_nodes},
          {"median_ms", r.median_ms}, {"p95_ms", r.p95_ms}, {"p99_ms", r.p99_ms}, {"images_per_s", r.images_per_s},
          {"weight_bytes", r.memory.weights}, {"arena_bytes", r.memory.arena}, {"workspace_bytes", r.memory.workspace},
          {"io_bytes", r.memory.io}, {"cublas_bytes", r.memory.cublas}, {"context_bytes", r.memory.context()},
          {"device_bytes_measured", r.device_bytes}, {"load_ms", r.load_ms}, {"load_read_ms", r.load_read_ms},
          {"load_identical", r.load_identical}, {"load_note", r.load_note},
          {"load_replay_s", r.load_stats.total_s}, {"load_restore_s", r.load_stats.compile_s},
          {"load_plans_restored", r.load_stats.plans_loaded},
          {"over_workspace", r.stats.over_workspace}, {"compile_processes", r.stats.compile_processes}, {"convs", r.convs},
          {"direct_convs", r.direct_convs}};
      if (!std::isnan(r.accuracy)) run["accuracy"] = r.accuracy;
      for (size_t i = 0; i < r.profile.size(); ++i) {
        const cuda::StepTime& t = r.profile[i];
        run["profile"].push_back(
            {{"node", t.node}, {"op", t.op}, {"tactic", t.tactic}, {"ms", t.ms}, {"critical", r.critical[i] != 0}});
      }
      j["runs"].push_back(run);
    }
    std::cout << json_text(j, 2) << std::endl;
  } else {
    for (const auto& r : rows) print_wins(r);
    for (const auto& r : rows) print_profile(r, o.profile_top);
  }
  if (o.markdown) std::cout << summary_markdown(o, rows) << std::flush;
  if (!o.csv.empty()) {
    const std::string csv = summary_csv(rows);
    Status st = write_file_atomic(o.csv, csv.data(), csv.size());
    if (!st.ok()) return report_error("bench", st);
  }
  return kExitOk;
}
#endif

}  // namespace

Runner register_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Time a model's CUDA engine (GPU ms per batch, images/s), or predict end to end (--source)");
  cmd->add_option("--model", o->model, "ONNX model")->required()->check(CLI::ExistingFile);
  cmd->add_option("--precision", o->precisions,
                  "fp32, tf32, fp16, int8 (comma separated; a precision the device does not run is a row saying why)")
      ->delimiter(',');
  add_int8_flags(*cmd, o->int8);
  cmd->add_option("--batch", o->batches, "batch sizes (comma separated)")->delimiter(',');
  cmd->add_option("--engine-batch", o->engine_batch,
                  "MIN:OPT:MAX: also run each --batch on one engine built for this profile, as it runs them "
                  "(padded to a prepared batch, or split side by side)");
  cmd->add_option("--iters", o->iters, "timed iterations per configuration");
  cmd->add_option("--warmup", o->warmup, "untimed iterations first")->check(number_in(0, 1000000));
  CLI::Option* imgsz = cmd->add_option("--imgsz", o->imgsz, "input size for dynamic models");
  cmd->add_flag("--no-tune", o->no_tune, "take cuDNN's heuristic first engine per conv instead of timing candidates");
  cmd->add_option("--tune-candidates", o->tune_candidates, "cuDNN candidates timed per conv signature")
      ->check(number_in(1, 64));
  cmd->add_option("--timing-cache", o->timing_cache, "timing cache file (default: in the engine cache folder)");
  cmd->add_option("--workspace", o->workspace_gb, "cap on a tactic's cuDNN/cuBLASLt workspace, GB (default 4)");
  cmd->add_flag("--profile", o->profile, "print per-step GPU times (a one-lane graph replay, CUDA events per step)");
  cmd->add_option("--profile-top", o->profile_top, "rows of the per-step table");
  cmd->add_flag("--json", o->json, "machine-readable output");
  cmd->add_option("--data", o->data, "dataset (as kiln val): adds mAP50-95 per precision (fp32, fp16, int8)");
  cmd->add_option("--csv", o->csv, "also write the rows to this CSV file");
  cmd->add_flag("--markdown", o->markdown, "end with a summary table (precision, size, mAP, ms/img, FPS)");
  cmd->add_option("--source", o->source, "image: time predict end to end (decoded image to detections)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--device", o->device, "--source runs: cpu | cuda | cuda:N (default: the GPU if usable, else cpu)");
  add_metadata_args(*cmd, o->task, o->names);
  return [o, imgsz]() -> int {
    ModelOptions metadata;
    if (Status st = apply_metadata_args(o->task, o->names, metadata); !st.ok()) return report_error("bench", st);
    auto device = device_flag(o->device);
    if (!device.ok()) return report_error("bench", device.status());
    auto precisions = precisions_flag(o->precisions);
    if (!precisions.ok()) return report_error("bench", precisions.status());
    if (!o->source.empty()) {
      const bool int8 = std::find(precisions->begin(), precisions->end(), Precision::kInt8) != precisions->end();
      auto int8_opts = parse_int8_options(o->int8, int8);
      if (!int8_opts.ok()) return report_error("bench", int8_opts.status());
      metadata.int8 = *int8_opts;
      if (imgsz->count() > 0) metadata.imgsz = o->imgsz;  // dynamic models; a static one refuses it
      return run_bench_end_to_end({o->model, o->source, *precisions, o->iters, o->warmup, metadata, *device, o->data});
    }
    if (*device)
      return report_error("bench", error(StatusCode::kInvalidArgument,
                                         "--device applies to --source runs; the engine table times CUDA engines"));
#if KILN_HAS_CUDA
    return run_bench(*o, *precisions, metadata);
#else
    return report_error("bench", error(StatusCode::kUnsupported, "this kiln was built without CUDA (KILN_CUDA=OFF)"));
#endif
  };
}

}  // namespace kiln::cli
