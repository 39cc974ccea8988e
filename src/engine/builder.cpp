#include "engine/builder.h"

#include <chrono>
#include <cmath>
#include <map>
#include <optional>

#include "backends/cpu/executor.h"
#include "core/file_util.h"
#include "engine/model_names.h"
#include "engine/sha256.h"
#include "ir/model_metadata.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"

#if KILN_ENGINE_CUDA
#include <cuda_runtime.h>

#include "backends/cuda/engine.h"
#endif

namespace kiln::engine {

namespace fs = std::filesystem;

namespace {

// Largest relative error a verified engine may show; above it the build fails.
constexpr double kMaxVerifyError = 1e-3;
constexpr double kMaxVerifyErrorFp16 = 1e-2;

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

// The verification input: deterministic, one per graph input; nullopt (with a note) when an
// input has no static shape.
std::optional<std::vector<ir::Tensor>> verification_inputs(const ir::Graph& graph, BuildInfo& info) {
  std::vector<ir::Tensor> inputs;
  for (const ir::Value* in : graph.inputs) {
    if (!in->shape || !ir::is_static(*in->shape)) {
      info.verification_note = "not verified: input '" + in->name + "' has no static shape";
      return std::nullopt;
    }
    inputs.push_back(test_input(ir::static_dims(*in->shape)));
  }
  return inputs;
}

Status check_error(double err, double limit, const std::string& what, BuildInfo& info) {
  info.max_relative_error = err;
  if (!(err <= limit))
    return error(StatusCode::kInternal, "verification failed: ", what, " differs from the model by ", err,
                 " (relative, limit ", limit, ")");
  return Status::Ok();
}

#if KILN_ENGINE_CUDA
// Builds the CUDA engine from the optimized graph at the build's precision, runs it on the
// verification input and compares with the un-optimized model on the CPU. The chosen
// tactic of every step goes to the engine file's tactics section (JSON list of {node,
// tactic}) and a per-tactic count to the metadata.
Status verify_cuda(const Engine& engine, const ir::Graph& reference, const BuildOptions& options, BuildInfo& info,
                   std::vector<uint8_t>& tactics, std::shared_ptr<cuda::Engine>& verified) {
  const std::string target = options.device.to_string() + ", " + options.precision;
  if (!cuda::gpu_available()) {
    info.verification_note = "not verified: no CUDA backend can run here (no usable GPU; engine recorded for " + target + ")";
    return Status::Ok();
  }
  if (options.precision != "fp32" && options.precision != "fp16")
    return error(StatusCode::kUnsupported, "precision ", options.precision, " is not supported by the CUDA backend (fp32, fp16)");
  auto inputs = verification_inputs(engine.graph, info);
  if (!inputs) return Status::Ok();
  if (cudaSetDevice(options.device.index) != cudaSuccess)
    return error(StatusCode::kNotFound, options.device.to_string(), ": cannot select this GPU");
  cuda::BuildOptions co;
  co.precision = options.precision == "fp16" ? cuda::Precision::kFp16 : cuda::Precision::kFp32;
  KILN_ASSIGN_OR_RETURN(auto built, cuda::Engine::build(engine.graph, co));
  KILN_ASSIGN_OR_RETURN(auto context, cuda::ExecutionContext::create(*built));
  KILN_ASSIGN_OR_RETURN(auto got, context->run(*inputs));
  KILN_ASSIGN_OR_RETURN(auto ref_exec, cpu::Executor::create(reference));
  KILN_ASSIGN_OR_RETURN(auto want, ref_exec.run(*inputs));
  KILN_ASSIGN_OR_RETURN(double err, max_relative_error(got, want));

  nlohmann::json list = nlohmann::json::array();
  std::map<std::string, int> counts;
  for (const cuda::Tactic& t : built->tactics()) {
    list.push_back({{"node", t.node}, {"tactic", t.tactic}});
    ++counts[t.tactic];
  }
  std::string text = list.dump();
  tactics.assign(text.begin(), text.end());
  info.tactics.clear();
  for (const auto& [tactic, n] : counts) info.tactics += (info.tactics.empty() ? "" : ", ") + tactic + " x" + std::to_string(n);
  // FP16 storage rounds every activation to 11 bits: a looser bound than FP32's.
  KILN_RETURN_IF_ERROR(check_error(err, options.precision == "fp16" ? kMaxVerifyErrorFp16 : kMaxVerifyError,
                                   "the CUDA engine (" + target + ")", info));
  verified = std::move(built);
  return Status::Ok();
}
#endif

// Runs the engine as loaded back from its bytes (on the CPU, or through the CUDA backend
// for a CUDA engine) and the un-optimized model on the same input.
Status verify(const Engine& engine, const ir::Graph& reference, const BuildOptions& options, BuildInfo& info,
              std::vector<uint8_t>& tactics, std::shared_ptr<cuda::Engine>& verified) {
  if (options.device.is_cuda()) {
#if KILN_ENGINE_CUDA
    return verify_cuda(engine, reference, options, info, tactics, verified);
#else
    (void)tactics, (void)verified;
    info.verification_note = "not verified: no CUDA backend in this kiln (built without CUDA; engine recorded for " +
                             options.device.to_string() + ", " + options.precision + ")";
    return Status::Ok();
#endif
  }
  auto inputs = verification_inputs(engine.graph, info);
  if (!inputs) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(auto built, cpu::Executor::create(engine.graph));
  KILN_ASSIGN_OR_RETURN(auto got, built.run(*inputs));
  KILN_ASSIGN_OR_RETURN(auto ref_exec, cpu::Executor::create(reference));
  KILN_ASSIGN_OR_RETURN(auto want, ref_exec.run(*inputs));
  KILN_ASSIGN_OR_RETURN(double err, max_relative_error(got, want));
  return check_error(err, kMaxVerifyError, "the optimized engine", info);
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

  std::vector<uint8_t> tactics;
  std::shared_ptr<cuda::Engine> verified;
  if (options.verify) {
    say("verifying");
    // The reference is the model as imported, before any optimization.
    KILN_ASSIGN_OR_RETURN(ir::Graph reference, onnx::import_model_bytes(bytes, model.string(), base));
    KILN_ASSIGN_OR_RETURN(Engine loaded, load_engine_bytes(encode_engine_file(m, graph), output));
    KILN_RETURN_IF_ERROR(verify(loaded, reference, options, m.build, tactics, verified));
  } else {
    m.build.verification_note = "not verified (--skip-verify)";
  }
  m.build.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  say("writing " + output.string());
  std::vector<uint8_t> file = encode_engine_file(m, graph, tactics);
  KILN_RETURN_IF_ERROR(save_engine(output, file));
  return BuildReport{output, file.size(), std::move(m), std::move(verified)};
}

Result<BuildReport> rebuild_engine(const EngineInfo& engine, const Progress& progress) {
  const EngineMetadata& m = engine.metadata;
  std::error_code ec;
  if (m.model.source_path.empty() || !fs::is_regular_file(m.model.source_path, ec))
    return error(StatusCode::kNotFound, engine.path.string(), ": cannot rebuild: source model ",
                 m.model.source_path.empty() ? "(not recorded)" : m.model.source_path, " no longer exists");
  // Only the very model the engine was built from: a changed file (or an engine whose
  // recorded path was altered) must not silently become a different engine.
  KILN_ASSIGN_OR_RETURN(std::string sha, sha256_file_hex(m.model.source_path));
  if (sha != m.model.source_sha256)
    return error(StatusCode::kIncompatible, engine.path.string(), ": cannot rebuild: source model ", m.model.source_path,
                 " changed since the engine was built (SHA-256 ", sha.substr(0, 12), ", recorded ",
                 m.model.source_sha256.substr(0, 12), ")");
  BuildOptions options;
  KILN_ASSIGN_OR_RETURN(options.device, parse_device(m.build.device));
  options.precision = m.build.precision;
  options.batch = m.build.batch;
  options.imgsz = m.model.imgsz_h == m.model.imgsz_w ? m.model.imgsz_h : 0;
  options.workspace_gb = m.build.workspace_gb;
  return build_engine(m.model.source_path, options, engine.path, progress);
}

}  // namespace kiln::engine
