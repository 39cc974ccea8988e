#include "engine/builder.h"

#include <chrono>
#include <cmath>

#include "backends/cpu/executor.h"
#include "core/file_util.h"
#include "engine/model_names.h"
#include "engine/sha256.h"
#include "ir/model_metadata.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"

namespace kiln::engine {

namespace fs = std::filesystem;

namespace {

// Largest relative error a verified engine may show; above it the build fails.
constexpr double kMaxVerifyError = 1e-3;

struct InputPlan {
  std::map<std::string, int64_t> bind_dims;
  int64_t imgsz_h = 0, imgsz_w = 0;
};

// Binds the first input's symbolic batch to the profile's opt and its symbolic height /
// width to the input size; a static dim that contradicts the request is an error.
Result<InputPlan> plan_input(const ir::Graph& graph, const BuildOptions& options, const ir::ModelMetadata& meta,
                             const std::string& task, const fs::path& model) {
  if (graph.inputs.empty() || !graph.inputs[0]->shape || graph.inputs[0]->shape->size() != 4)
    return error(StatusCode::kUnsupported, model.string(), ": expected one NCHW image input");
  const ir::Value* in = graph.inputs[0];
  const ir::Shape& shape = *in->shape;
  InputPlan plan;
  plan.imgsz_h = options.imgsz ? options.imgsz : meta.imgsz_h;
  plan.imgsz_w = options.imgsz ? options.imgsz : meta.imgsz_w;
  if (!plan.imgsz_h) plan.imgsz_h = shape[2].is_known() ? shape[2].value : default_imgsz(task);
  if (!plan.imgsz_w) plan.imgsz_w = shape[3].is_known() ? shape[3].value : default_imgsz(task);

  const std::pair<int64_t, const char*> wanted[] = {{options.batch.opt, "batch"}, {0, ""}, {plan.imgsz_h, "height"}, {plan.imgsz_w, "width"}};
  for (size_t i : {0, 2, 3}) {
    const ir::Dim& d = shape[i];
    auto [value, what] = wanted[i];
    bool fits = i == 0 ? options.batch.min == d.value && options.batch.max == d.value : d.value == value;
    if (d.is_known() && !fits)
      return error(StatusCode::kInvalidArgument, model.string(), ": input '", in->name, "' ", ir::shape_to_string(shape),
                   " has a static ", what, " of ", d.value, "; ", what, " ",
                   i == 0 ? options.batch.to_string() : std::to_string(value), " needs a dynamic export");
    if (!d.is_known() && d.symbol.empty())
      return error(StatusCode::kUnsupported, model.string(), ": input '", in->name, "' dim ", i, " is unknown and unnamed");
    if (!d.is_known()) plan.bind_dims[d.symbol] = value;
  }
  return plan;
}

// A deterministic input in [0, 1): the same for every build, so verification is repeatable.
ir::Tensor test_input(const std::vector<int64_t>& dims) {
  ir::Tensor t(ir::DType::kFloat32, dims);
  float* p = t.data<float>();
  uint32_t state = 12345;
  for (int64_t i = 0; i < t.numel(); ++i) {
    state = state * 1664525u + 1013904223u;
    p[i] = static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
  }
  return t;
}

// max |got - ref| / max |ref| over every output: relative to each output's scale.
Result<double> max_relative_error(const std::vector<ir::Tensor>& got, const std::vector<ir::Tensor>& ref) {
  if (got.size() != ref.size()) return error(StatusCode::kInternal, "engine has ", got.size(), " outputs, model ", ref.size());
  double worst = 0;
  for (size_t o = 0; o < got.size(); ++o) {
    if (got[o].shape() != ref[o].shape())
      return error(StatusCode::kInternal, "output ", o, " shape ", ir::shape_to_string(got[o].shape()), " vs model ",
                   ir::shape_to_string(ref[o].shape()));
    ir::Tensor a = got[o].to_float32(), b = ref[o].to_float32();
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      double x = a.data<float>()[i], y = b.data<float>()[i];
      diff = std::isfinite(x) ? std::max(diff, std::fabs(x - y)) : INFINITY;
      scale = std::max(scale, std::fabs(y));
    }
    worst = std::max(worst, scale > 0 ? diff / scale : diff);
  }
  return worst;
}

// Runs the engine as loaded back from its bytes and the un-optimized model on the same
// input. Only the CPU backend exists so far: a CUDA engine is recorded, not verified,
// until the CUDA backend provides an executor here.
Status verify(const Engine& engine, const ir::Graph& reference, const BuildOptions& options, BuildInfo& info) {
  if (options.device.is_cuda()) {
    info.verification_note = "not verified: this kiln has no CUDA backend yet (engine recorded for " +
                             options.device.to_string() + ", " + options.precision + ")";
    return Status::Ok();
  }
  std::vector<ir::Tensor> inputs;
  for (const ir::Value* in : engine.graph.inputs) {
    if (!in->shape || !ir::is_static(*in->shape)) {
      info.verification_note = "not verified: input '" + in->name + "' has no static shape";
      return Status::Ok();
    }
    inputs.push_back(test_input(ir::static_dims(*in->shape)));
  }
  KILN_ASSIGN_OR_RETURN(auto built, cpu::Executor::create(engine.graph));
  KILN_ASSIGN_OR_RETURN(auto got, built.run(inputs));
  KILN_ASSIGN_OR_RETURN(auto ref_exec, cpu::Executor::create(reference));
  KILN_ASSIGN_OR_RETURN(auto want, ref_exec.run(inputs));
  KILN_ASSIGN_OR_RETURN(double err, max_relative_error(got, want));
  info.max_relative_error = err;
  if (!(err <= kMaxVerifyError))
    return error(StatusCode::kInternal, "verification failed: the optimized engine differs from the model by ", err,
                 " (relative, limit ", kMaxVerifyError, ")");
  return Status::Ok();
}

}  // namespace

Result<BuildReport> build_engine(const fs::path& model, const BuildOptions& options, const fs::path& output,
                                 const Progress& progress) {
  auto t0 = std::chrono::steady_clock::now();
  auto say = [&](const std::string& m) { if (progress) progress(m); };
  KILN_RETURN_IF_ERROR(check_precision(options.precision));
  if (!options.device.is_cuda() && options.precision != "fp32")
    return error(StatusCode::kInvalidArgument, "precision ", options.precision,
                 " needs a CUDA device (--device cuda:N); the CPU backend runs fp32 only");
  KILN_ASSIGN_OR_RETURN(Environment env, detect_environment());
  KILN_ASSIGN_OR_RETURN(Fingerprint fp, fingerprint_for(env, options.device));

  say("importing " + model.string());
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(model));
  fs::path base = model.parent_path().empty() ? fs::path(".") : model.parent_path();
  KILN_ASSIGN_OR_RETURN(ir::Graph graph, onnx::import_model_bytes(bytes, model.string(), base));
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

  EngineMetadata m;
  m.environment = fp;
  std::error_code ec;
  fs::path abs = fs::absolute(model, ec);
  m.model = ModelInfo{(ec ? model : abs.lexically_normal()).string(), to_hex(sha256(bytes)), task, meta->names,
                      meta->stride, plan.imgsz_h, plan.imgsz_w, meta->kpt_shape, graph.opset};
  m.build.device = options.device.to_string();
  m.build.precision = options.precision;
  m.build.batch = options.batch;
  m.build.workspace_gb = options.workspace_gb;
  m.built_at = iso_time_now();

  if (options.verify) {
    say("verifying");
    // The reference is the model as imported, before any optimization.
    KILN_ASSIGN_OR_RETURN(ir::Graph reference, onnx::import_model_bytes(bytes, model.string(), base));
    KILN_ASSIGN_OR_RETURN(Engine loaded, load_engine_bytes(encode_engine_file(m, graph), output));
    KILN_RETURN_IF_ERROR(verify(loaded, reference, options, m.build));
  } else {
    m.build.verification_note = "not verified (--skip-verify)";
  }
  m.build.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  say("writing " + output.string());
  std::vector<uint8_t> file = encode_engine_file(m, graph);
  KILN_RETURN_IF_ERROR(save_engine(output, file));
  return BuildReport{output, file.size(), std::move(m)};
}

Result<BuildReport> rebuild_engine(const EngineInfo& engine, const Progress& progress) {
  const EngineMetadata& m = engine.metadata;
  std::error_code ec;
  if (m.model.source_path.empty() || !fs::is_regular_file(m.model.source_path, ec))
    return error(StatusCode::kNotFound, engine.path.string(), ": cannot rebuild: source model ",
                 m.model.source_path.empty() ? "(not recorded)" : m.model.source_path, " no longer exists");
  BuildOptions options;
  KILN_ASSIGN_OR_RETURN(options.device, parse_device(m.build.device));
  options.precision = m.build.precision;
  options.batch = m.build.batch;
  options.imgsz = m.model.imgsz_h == m.model.imgsz_w ? m.model.imgsz_h : 0;
  options.workspace_gb = m.build.workspace_gb;
  return build_engine(m.model.source_path, options, engine.path, progress);
}

}  // namespace kiln::engine
