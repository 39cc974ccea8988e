#include "engine/compile.h"

#include <chrono>
#include <map>
#include <optional>

#include "backends/cpu/executor.h"
#include "core/file_util.h"
#include "engine/cache.h"
#include "engine/compile_cuda.h"
#include "engine/compile_int8.h"
#include "engine/model_names.h"
#include "engine/sha256.h"
#include "engine/verification.h"
#include "ir/model_metadata.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"

namespace kiln::engine {

namespace fs = std::filesystem;

namespace {

struct InputPlan {
  std::map<std::string, int64_t> bind_dims;  // height / width (and a fixed batch)
  std::string batch_symbol;                  // the batch dim's name when it stays symbolic
  int64_t imgsz_h = 0, imgsz_w = 0;
};

// Binds the first input's symbolic height / width to the input size, and its batch when the
// profile has one size; a static dim that contradicts the request is an error.
Result<InputPlan> plan_input(const ir::Graph& graph, const BuildOptions& options, const ir::ModelMetadata& meta,
                             const std::string& task, const fs::path& model) {
  if (graph.inputs.empty() || !graph.inputs[0]->shape || graph.inputs[0]->shape->size() != 4)
    return error(StatusCode::kUnsupported, model.string(), ": expected one NCHW image input");
  const ir::Value* in = graph.inputs[0];
  const ir::Shape& shape = *in->shape;
  InputPlan plan;
  plan.imgsz_h = options.height ? options.height : options.imgsz ? options.imgsz : meta.imgsz_h;
  plan.imgsz_w = options.width ? options.width : options.imgsz ? options.imgsz : meta.imgsz_w;
  if (!plan.imgsz_h) plan.imgsz_h = shape[2].is_known() ? shape[2].value : default_imgsz(task);
  if (!plan.imgsz_w) plan.imgsz_w = shape[3].is_known() ? shape[3].value : default_imgsz(task);

  const BatchProfile& b = options.batch;
  const std::pair<int64_t, const char*> wanted[] = {{b.opt, "batch"}, {0, ""}, {plan.imgsz_h, "height"}, {plan.imgsz_w, "width"}};
  for (size_t i : {0, 2, 3}) {
    const ir::Dim& d = shape[i];
    auto [value, what] = wanted[i];
    bool fits = i == 0 ? b.min == d.value && b.max == d.value : d.value == value;
    if (d.is_known() && !fits)
      return error(StatusCode::kInvalidArgument, model.string(), ": input '", in->name, "' ", ir::shape_to_string(shape),
                   " has a static ", what, " of ", d.value, "; ", what, " ",
                   i == 0 ? b.to_string() : std::to_string(value), " needs a dynamic export");
    if (!d.is_known() && d.symbol.empty())
      return error(StatusCode::kUnsupported, model.string(), ": input '", in->name, "' dim ", i, " is unknown and unnamed");
    if (d.is_known()) continue;
    if (i == 0 && b.min != b.max) plan.batch_symbol = d.symbol;
    else plan.bind_dims[d.symbol] = value;
  }
  return plan;
}

// Runs the engine's graph (as it reads back from the file; a symbolic batch bound to the
// profile's smallest) and the un-optimized model on the CPU, on the same input.
Status verify_cpu(const ir::Graph& graph, const ir::Graph& reference, const InputPlan& plan, int64_t batch,
                  BuildInfo& info) {
  const EngineMetadata probe{};
  KILN_ASSIGN_OR_RETURN(Engine loaded, load_engine_bytes(encode_engine_file(probe, graph), "(engine being built)"));
  if (!plan.batch_symbol.empty()) {
    passes::OptimizeOptions o;
    o.bind_dims[plan.batch_symbol] = batch;
    KILN_RETURN_IF_ERROR(passes::optimize(loaded.graph, o));
  }
  auto inputs = verification_inputs(loaded.graph, info);
  if (!inputs) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(auto built, cpu::Executor::create(loaded.graph));
  KILN_ASSIGN_OR_RETURN(auto got, built.run(*inputs));
  KILN_ASSIGN_OR_RETURN(auto ref_exec, cpu::Executor::create(reference));
  KILN_ASSIGN_OR_RETURN(auto want, ref_exec.run(*inputs));
  KILN_ASSIGN_OR_RETURN(double err, max_relative_error(got, want));
  return check_error(err, max_verify_error(info.precision), "the optimized engine", info);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

fs::path timing_cache_path(const BuildOptions& options) {
  if (!options.timing_cache.empty()) return options.timing_cache;
  return default_cache_dir("", std::nullopt) / "cuda_timing_cache.tsv";
}

Result<SourceModel> read_source_model(const fs::path& model) {
  SourceModel source{model, {}, {}};
  KILN_ASSIGN_OR_RETURN(source.bytes, read_file(model));
  source.sha256 = to_hex(sha256(source.bytes));
  return source;
}

Result<CompiledModel> compile(const fs::path& model, const BuildOptions& options, const Progress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  if (progress) progress("importing " + model.string());
  KILN_ASSIGN_OR_RETURN(const SourceModel source, read_source_model(model));
  const double read_s = seconds_since(t0);
  KILN_ASSIGN_OR_RETURN(CompiledModel out, compile(source, options, progress));
  out.metadata.build.build_seconds += read_s;
  return out;
}

Result<CompiledModel> compile(const SourceModel& source, const BuildOptions& options, const Progress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  auto say = [&](const std::string& m) { if (progress) progress(m); };
  const fs::path& model = source.path;
  const std::vector<uint8_t>& bytes = source.bytes;
  KILN_RETURN_IF_ERROR(check_precision_for_device(options));
  const bool int8 = options.precision == Precision::kInt8;
  if ((options.height > 0) != (options.width > 0) || options.height < 0 || options.width < 0)
    return error(StatusCode::kInvalidArgument, "input size ", options.height, "x", options.width,
                 ": give both height and width");
  KILN_ASSIGN_OR_RETURN(Environment env, detect_environment());
  KILN_ASSIGN_OR_RETURN(Fingerprint fp, fingerprint_for(env, options.device));

  const fs::path base = model.parent_path().empty() ? fs::path(".") : model.parent_path();
  auto import = [&] { return onnx::import_model_bytes(bytes, model.string(), base); };
  KILN_ASSIGN_OR_RETURN(ir::Graph graph, import());
  auto meta = ir::parse_model_metadata(graph.metadata);
  if (!meta.ok()) return error(meta.status().code(), model.string(), ": ", meta.status().message());
  std::string task = meta->task;
  if (task.empty())
    if (auto name = parse_model_name(model.stem().string())) task = name->task;
  KILN_ASSIGN_OR_RETURN(InputPlan plan, plan_input(graph, options, *meta, task, model));

  say("optimizing");
  passes::OptimizeOptions opt;
  opt.bind_dims = plan.bind_dims;
  KILN_RETURN_IF_ERROR(passes::optimize(graph, opt));

  CompiledModel out;
  EngineMetadata& m = out.metadata;
  m.environment = fp;
  std::error_code ec;
  fs::path abs = fs::absolute(model, ec);
  m.model = ModelInfo{(ec ? model : abs.lexically_normal()).string(), source.sha256, task, meta->names,
                      meta->stride, plan.imgsz_h, plan.imgsz_w, meta->kpt_shape, graph.opset};
  m.build.device = options.device;
  m.build.precision = options.precision;
  m.build.batch = options.batch;
  m.build.workspace_gb = options.workspace_gb;
  m.built_at = iso_time_now();
  std::optional<Int8Quantizer> quantizer;
  if (int8) {
    auto graph_at_batch_1 = [&]() -> Result<ir::Graph> {
      KILN_ASSIGN_OR_RETURN(ir::Graph g, import());
      passes::OptimizeOptions o;
      o.bind_dims = plan.bind_dims;
      if (!plan.batch_symbol.empty()) o.bind_dims[plan.batch_symbol] = 1;
      KILN_RETURN_IF_ERROR(passes::optimize(g, o));
      return g;
    };
    const Int8Model int8_model{model, bytes, static_cast<int>(meta->names.size()), graph_at_batch_1};
    KILN_ASSIGN_OR_RETURN(quantizer, plan_int8(graph, int8_model, options, m.build, say));
    KILN_RETURN_IF_ERROR(quantizer->apply(graph, &m.build.int8->layers));
  }

  // The model as imported, unoptimized: what verification compares against.
  std::optional<ir::Graph> reference;
  if (options.verify) {
    KILN_ASSIGN_OR_RETURN(reference, import());
  }
  if (options.device.is_cuda()) {
#if KILN_ENGINE_CUDA
    std::optional<ir::Graph> bound;
    GraphForBatch graph_for_batch = [&](int64_t batch) -> Result<const ir::Graph*> {
      if (plan.batch_symbol.empty()) return &graph;  // one batch size: the graph optimized above
      KILN_ASSIGN_OR_RETURN(bound, import());
      passes::OptimizeOptions o;
      o.bind_dims = plan.bind_dims;
      o.bind_dims[plan.batch_symbol] = batch;
      KILN_RETURN_IF_ERROR(passes::optimize(*bound, o));
      if (quantizer) KILN_RETURN_IF_ERROR(quantizer->apply(*bound));
      return &*bound;
    };
    BuildOptions cuda_options = options;
    cuda_options.timing_cache = timing_cache_path(options);
    KILN_RETURN_IF_ERROR(
        compile_cuda(graph_for_batch, reference ? &*reference : nullptr, cuda_options, say, out));
#else
    m.build.verification_note = "not verified: no CUDA backend in this kiln (built without CUDA; engine recorded for " +
                                options.device.to_string() + ", " + std::string(to_string(options.precision)) + ")";
#endif
  } else if (options.verify) {
    say("verifying");
    KILN_RETURN_IF_ERROR(verify_cpu(graph, *reference, plan, options.batch.min, m.build));
  }
  if (!options.verify && m.build.verification_note.empty()) m.build.verification_note = "not verified (--skip-verify)";
  out.graph = std::move(graph);
  m.build.build_seconds = seconds_since(t0);
  return out;
}

}  // namespace kiln::engine
