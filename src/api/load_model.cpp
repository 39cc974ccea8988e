#include <algorithm>
#include <optional>

#include "api/loaded_model.h"
#include "engine/cache.h"
#include "engine/cuda_engines.h"
#include "engine/compatibility.h"
#include "engine/engine.h"
#include "engine/model_names.h"
#include "ir/model_metadata.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "vision/letterbox.h"

namespace kiln::api {

namespace {

namespace fs = std::filesystem;

engine::MismatchPolicy to_engine_policy(MismatchPolicy p) {
  switch (p) {
    case MismatchPolicy::kAuto: return engine::MismatchPolicy::kAuto;
    case MismatchPolicy::kPrompt: return engine::MismatchPolicy::kPrompt;
    case MismatchPolicy::kFail: break;
  }
  return engine::MismatchPolicy::kFail;
}

// Where something that wants `wanted` runs: there, or on the CPU (explained in `note`) when
// no usable GPU is here and strict_gpu is off.
Result<engine::Device> resolve_device(const engine::Device& wanted, const ModelOptions& o, const std::string& who,
                                      std::string& note) {
  if (!wanted.is_cuda()) return wanted;
  std::string reason = cuda_unavailable_reason();
  if (reason.empty()) {
    // A GPU is here: a device index it lacks is a mistake to report, not a reason to fall back.
    KILN_ASSIGN_OR_RETURN(engine::Environment env, engine::detect_environment());
    if (wanted.index >= 0 && static_cast<size_t>(wanted.index) < env.gpus.size()) return wanted;
    return error(StatusCode::kNotFound, who, ": device ", wanted.to_string(), " does not exist (this machine has ",
                 env.gpus.size(), " GPU(s): cuda:0", env.gpus.size() > 1 ? "..cuda:" + std::to_string(env.gpus.size() - 1) : "",
                 ")");
  }
  if (o.strict_gpu)
    return error(StatusCode::kUnsupported, who, " needs ", wanted.to_string(), " but ", reason,
                 " (strict GPU mode: no CPU fallback)");
  note = who + " wants " + wanted.to_string() + " but " + reason + ": running on the CPU backend (fp32)";
  return engine::Device{};
}

std::vector<TensorInfo> describe(const std::vector<ir::Value*>& values) {
  std::vector<TensorInfo> out;
  for (const ir::Value* v : values) {
    TensorInfo t{v->name, {}};
    if (v->shape)
      for (const ir::Dim& d : *v->shape) t.shape.push_back(d.is_known() ? d.value : -1);
    out.push_back(std::move(t));
  }
  return out;
}

// The model facts an engine file records, and its static input size. `name` is the file
// the caller gave (the .onnx for a cached engine), for error messages.
// `built`: the CUDA engines the build just planned from this file's graph, if any (taken
// instead of loading them again).
// `key`: the engine must be signed with it (engine_signing.h).
Result<LoadedModel> open_engine(const fs::path& path, const std::string& name, const engine::Device& device,
                                const std::optional<engine::SigningKey>& key, std::string note, bool rebuilt,
                                std::shared_ptr<engine::CudaEngines> built = nullptr) {
  KILN_ASSIGN_OR_RETURN(engine::Engine e, engine::load_engine(path, key ? &*key : nullptr));
  const engine::ModelInfo& mi = e.info.metadata.model;
  LoadedModel m;
  m.name = name;
  m.info.task = mi.task;
  m.info.names = mi.names;
  m.info.stride = static_cast<int>(mi.stride);
  m.info.kpt_shape = mi.kpt_shape;
  m.info.device = device;
  const Precision built_precision = e.info.metadata.build.precision;
  m.info.precision = device.is_cuda() || built_precision == Precision::kInt8 ? built_precision : Precision::kFp32;
  m.info.engine_path = path;
  m.info.engine_built = rebuilt;
  m.info.note = std::move(note);
  if (auto meta = ir::parse_model_metadata(e.graph.metadata); meta.ok()) m.end2end = meta->end2end;
  if (e.graph.inputs.empty() || !e.graph.inputs[0]->shape)
    return error(StatusCode::kCorrupt, path.string(), ": engine input has no shape");
  const ir::Shape& shape = *e.graph.inputs[0]->shape;
  // Only the batch may stay symbolic: an engine of a batch profile runs n images at once.
  for (size_t i = 1; i < shape.size(); ++i)
    if (!shape[i].is_known()) return error(StatusCode::kCorrupt, path.string(), ": engine input has no static shape");
  m.flexible_batch = !shape.empty() && !shape[0].is_known();
  if (shape.size() == 4) {
    m.info.batch = static_cast<int>(m.flexible_batch ? e.info.metadata.build.batch.max : shape[0].value);
    m.info.imgsz_h = static_cast<int>(shape[2].value);
    m.info.imgsz_w = static_cast<int>(shape[3].value);
  } else {
    m.info.imgsz_h = static_cast<int>(mi.imgsz_h);
    m.info.imgsz_w = static_cast<int>(mi.imgsz_w);
  }
  m.info.inputs = describe(e.graph.inputs);
  m.info.outputs = describe(e.graph.outputs);
  if (device.is_cuda()) {
    KILN_ASSIGN_OR_RETURN(m.runner, make_cuda_runner(path, e, std::move(built), device.index));
  } else {
    KILN_ASSIGN_OR_RETURN(m.runner, make_cpu_runner(std::move(e.graph)));
  }
  return m;
}

// A model with symbolic height/width: like Ultralytics with a dynamic model, each image is
// letterboxed to imgsz (rounded up to the stride) with minimal padding. On the CPU the graph
// keeps its symbolic height/width and binds only the batch, to 1; on a GPU each input size
// gets its own CUDA engine (make_cuda_shapes_runner).
Result<LoadedModel> open_dynamic(const fs::path& path, ir::Graph graph, const ir::ModelMetadata& meta,
                                 const std::string& task, const ModelOptions& o, const engine::Device& device,
                                 Precision precision, std::string note) {
  const ir::Value* input = graph.inputs[0];
  const ir::Shape& shape = *input->shape;
  const int stride = static_cast<int>(meta.stride);
  auto side = [&](int64_t from_meta) {
    int64_t s = o.imgsz ? o.imgsz : from_meta ? from_meta : engine::default_imgsz(task);
    return vision::round_up_to_stride(static_cast<int>(s), stride);
  };
  if ((shape[0].is_known() && shape[0].value != 1) || (shape[1].is_known() && shape[1].value != 3))
    return error(StatusCode::kUnsupported, path.string(), ": input ", input->name, " is ", ir::shape_to_string(shape),
                 ", needs batch 1 and 3 channels");
  passes::OptimizeOptions opt;
  if (!shape[0].is_known()) opt.bind_dims[shape[0].symbol] = 1;
  KILN_RETURN_IF_ERROR(passes::optimize(graph, opt));

  LoadedModel m;
  m.name = path.string();
  m.end2end = meta.end2end;
  m.info.task = task;
  m.info.names = meta.names;
  m.info.stride = stride;
  m.info.imgsz_h = shape[2].is_known() ? static_cast<int>(shape[2].value) : side(meta.imgsz_h);
  m.info.imgsz_w = shape[3].is_known() ? static_cast<int>(shape[3].value) : side(meta.imgsz_w);
  m.info.dynamic_input = true;
  m.info.kpt_shape = meta.kpt_shape;
  m.info.device = device;
  m.info.precision = precision;
  m.info.note = std::move(note);
  m.info.inputs = describe(graph.inputs);
  m.info.outputs = describe(graph.outputs);
  if (device.is_cuda()) {
    KILN_ASSIGN_OR_RETURN(m.runner, make_cuda_shapes_runner(path, precision, device));
  } else {
    KILN_ASSIGN_OR_RETURN(m.runner, make_cpu_runner(std::move(graph)));
  }
  return m;
}

Result<LoadedModel> load_onnx(const fs::path& path, const ModelOptions& o, const std::optional<engine::Device>& requested,
                              const std::optional<engine::SigningKey>& key) {
  engine::Device wanted = requested.value_or(engine::Device{});
  Precision precision = o.precision.value_or(Precision::kFp32);
  const bool int8 = precision == Precision::kInt8;
  if (!wanted.is_cuda() && precision != Precision::kFp32 && !int8)
    return error(StatusCode::kInvalidArgument, "precision ", precision,
                 " needs a CUDA device (cuda:N); the CPU backend runs fp32 and int8");
  std::string note;
  KILN_ASSIGN_OR_RETURN(engine::Device device, resolve_device(wanted, o, path.string(), note));
  if (!device.is_cuda() && !int8) precision = Precision::kFp32;

  KILN_ASSIGN_OR_RETURN(ir::Graph graph, onnx::import_model(path));
  auto meta = ir::parse_model_metadata(graph.metadata);
  if (!meta.ok()) return error(meta.status().code(), path.string(), ": ", meta.status().message());
  std::string task = meta->task;
  if (task.empty())
    if (auto name = engine::parse_model_name(path.stem().string())) task = name->task;
  const std::string name_note = meta->task.empty() && !task.empty() && o.task.empty()
                                    ? "no YOLO metadata in the model: task " + task + " taken from the file name " +
                                          path.filename().string()
                                    : "";
  const bool image_input = graph.inputs.size() == 1 && graph.inputs[0]->shape && graph.inputs[0]->shape->size() == 4;
  const bool dynamic_hw =
      image_input && (!(*graph.inputs[0]->shape)[2].is_known() || !(*graph.inputs[0]->shape)[3].is_known());
  // INT8 is calibrated for one input size: a dynamic model becomes a static engine at imgsz.
  if (dynamic_hw && o.batch == BatchProfile(1) && !int8) {
    KILN_ASSIGN_OR_RETURN(LoadedModel m, open_dynamic(path, std::move(graph), *meta, task, o, device, precision, std::move(note)));
    m.info.metadata_note = name_note;
    return m;
  }

  engine::BuildOptions build;
  build.device = device;
  build.precision = precision;
  build.batch = o.batch;
  build.imgsz = o.imgsz;
  build.signing_key = key;
  build.int8 = o.int8;
  engine::Cache cache(engine::default_cache_dir(o.cache_dir.string(), std::nullopt));
  KILN_ASSIGN_OR_RETURN(engine::CacheOutcome outcome, cache.get_or_build(path, build, /*force=*/false, o.progress));
  KILN_ASSIGN_OR_RETURN(LoadedModel m, open_engine(outcome.path, path.string(), device, key, std::move(note), outcome.built,
                                                  outcome.report ? outcome.report->cuda : nullptr));
  m.info.build_reason = outcome.reason;
  m.info.metadata_note = name_note;
  // The cache keys engines by the model's bytes: one built from a copy under another name
  // may record another (or no) task.
  if (!name_note.empty()) m.info.task = task;
  return m;
}

Result<LoadedModel> load_kiln(const fs::path& path, const ModelOptions& o, const std::optional<engine::Device>& requested,
                              const std::optional<engine::SigningKey>& key) {
  KILN_ASSIGN_OR_RETURN(engine::EngineInfo info, engine::inspect_engine(path, key ? &*key : nullptr));
  // Refused before anything else: an engine not signed with the key is neither run nor rebuilt.
  if (key) KILN_RETURN_IF_ERROR(engine::require_valid_signature(info.signature, path, *key));
  const engine::BuildInfo& b = info.metadata.build;
  const engine::Device built_for = b.device;
  if (requested && *requested != built_for)
    return error(StatusCode::kInvalidArgument, path.string(), ": engine built for ", b.device.to_string(), ", not ",
                 requested->to_string(), " (build one with kiln build --device ", requested->to_string(), ")");
  if (o.precision && *o.precision != b.precision)
    return error(StatusCode::kInvalidArgument, path.string(), ": engine built for ", b.precision, ", not ", *o.precision);

  std::string note;
  KILN_ASSIGN_OR_RETURN(engine::Device device, resolve_device(built_for, o, path.string(), note));
  bool rebuilt = false;
  std::shared_ptr<engine::CudaEngines> built;
  std::string rebuild_reasons;
  if (device.is_cuda() == built_for.is_cuda()) {  // runs as built: the fingerprint must fit this machine
    KILN_ASSIGN_OR_RETURN(engine::Environment env, engine::detect_environment());
    engine::Verdict verdict = engine::check_compatibility(info, env);
    if (verdict.needs_rebuild()) {
      std::string reasons;
      for (const engine::Reason& r : verdict.reasons)
        if (r.severity == engine::Severity::kCritical) reasons += (reasons.empty() ? "" : "; ") + r.message;
      engine::MismatchPolicy policy = to_engine_policy(o.on_mismatch);
      bool rebuild = policy == engine::MismatchPolicy::kAuto ||
                     (policy == engine::MismatchPolicy::kPrompt && o.confirm_rebuild && o.confirm_rebuild(reasons));
      if (!rebuild)
        return error(StatusCode::kIncompatible, path.string(), ": engine needs a rebuild for this machine: ", reasons);
      KILN_ASSIGN_OR_RETURN(engine::BuildReport report, engine::rebuild_engine(info, key, o.progress));
      built = std::move(report.cuda);
      rebuilt = true;
      rebuild_reasons = "engine needs a rebuild for this machine: " + reasons;
    }
  }
  auto opened = open_engine(path, path.string(), device, key, note, rebuilt, built);
  // Plans that cannot be restored on this machine (another GPU, driver or cuDNN the
  // fingerprint did not catch) are a rebuild reason like any other.
  if (!opened.ok() && opened.status().code() == StatusCode::kIncompatible && !rebuilt) {
    engine::MismatchPolicy policy = to_engine_policy(o.on_mismatch);
    const std::string reason = opened.status().message();
    bool rebuild = policy == engine::MismatchPolicy::kAuto ||
                   (policy == engine::MismatchPolicy::kPrompt && o.confirm_rebuild && o.confirm_rebuild(reason));
    if (!rebuild) return error(StatusCode::kIncompatible, "engine needs a rebuild for this machine: ", reason);
    KILN_ASSIGN_OR_RETURN(engine::BuildReport report, engine::rebuild_engine(info, key, o.progress));
    KILN_ASSIGN_OR_RETURN(LoadedModel m,
                          open_engine(path, path.string(), device, key, std::move(note), true, std::move(report.cuda)));
    m.info.build_reason = "engine needs a rebuild for this machine: " + reason;
    return m;
  }
  if (opened.ok() && rebuilt) opened->info.build_reason = rebuild_reasons;
  return opened;
}

// ModelOptions::task / names in place of (or in the absence of) the model's metadata.
Status apply_overrides(LoadedModel& m, const ModelOptions& o) {
  static const char* const kTasks[] = {"detect", "segment", "pose", "obb", "classify"};
  if (!o.task.empty()) {
    if (std::find(std::begin(kTasks), std::end(kTasks), o.task) == std::end(kTasks))
      return error(StatusCode::kInvalidArgument, "task '", o.task, "': expected detect, segment, pose, obb or classify");
    if (o.task != m.info.task)
      m.info.metadata_note = "task " + o.task + " as given" + (m.info.task.empty() ? "" : " (the model says " + m.info.task + ")");
    m.info.task = o.task;
  }
  if (!o.names.empty()) m.info.names = o.names;
  return Status::Ok();
}

}  // namespace

Result<LoadedModel> load_model(const fs::path& path, const ModelOptions& o) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return error(StatusCode::kNotFound, path.string(), ": no such file");
  const BatchProfile& b = o.batch;
  if (b.min < 1 || b.min > b.opt || b.opt > b.max)
    return error(StatusCode::kInvalidArgument, "batch ", b.to_string(), ": expected 1 <= MIN <= OPT <= MAX");
  KILN_RETURN_IF_ERROR(engine::check_input_size(o.imgsz, b.max));
  KILN_ASSIGN_OR_RETURN(std::optional<engine::SigningKey> key, engine::resolve_signing_key(o.engine_key, std::nullopt));
  KILN_ASSIGN_OR_RETURN(LoadedModel m, path.extension() == ".kiln" ? load_kiln(path, o, o.device, key)
                                                                    : load_onnx(path, o, o.device, key));
  KILN_RETURN_IF_ERROR(apply_overrides(m, o));
  return m;
}

}  // namespace kiln::api
