// kiln triton-repo --model M [--name N] --out DIR [--device cpu|cuda|cuda:0,1] [--instances K]
//   [--max-batch B] [--batch N|MIN:OPT:MAX] [--imgsz S] [--conf C] [--iou I] [--max-det D] [--precision P]
//   [--json]
// Writes a Triton model repository (DIR/N/config.pbtxt + DIR/N/1/model.onnx|.kiln) served by
// the kiln backend (libtriton_kiln.so): `tritonserver --model-repository DIR`.
#include <charconv>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/json_text.h"
#include "engine/engine.h"
#include "engine/model_names.h"
#include "ir/model_metadata.h"
#include "model_repository.h"
#include "onnx/importer.h"
#include "option_flags.h"

namespace kiln::cli {

namespace {

namespace fs = std::filesystem;

const triton::RepositoryOptions kRepositoryDefaults;

struct TritonRepoArgs {
  std::string model, name, out, device = "cuda", batch, precision;
  int instances = kRepositoryDefaults.instances, max_batch = kRepositoryDefaults.max_batch_size,
      queue_delay_us = kRepositoryDefaults.queue_delay_us;
  std::optional<int> imgsz, max_det;
  std::optional<float> conf;
  std::optional<double> iou;
  bool json = false;
};

// What the repository needs to know of the model: its task (which outputs it has) and, for an
// .onnx whose batch dim is fixed, that batch (an engine batch it can be built with).
struct ModelFacts {
  std::string task;
  std::optional<int> static_batch;
};

// From the engine's metadata for a .kiln; from the ONNX metadata (or the file name, as
// Model::load does) and the input's shape for an .onnx.
Result<ModelFacts> model_facts(const fs::path& path) {
  ModelFacts facts;
  if (path.extension() == ".kiln") {
    KILN_ASSIGN_OR_RETURN(engine::EngineInfo info, engine::inspect_engine(path));
    facts.task = info.metadata.model.task;
    return facts;
  }
  KILN_ASSIGN_OR_RETURN(ir::Graph graph, onnx::import_model(path));
  KILN_ASSIGN_OR_RETURN(ir::ModelMetadata meta, ir::parse_model_metadata(graph.metadata));
  facts.task = meta.task;
  if (facts.task.empty())
    if (auto name = engine::parse_model_name(path.stem().string())) facts.task = name->task;
  if (!graph.inputs.empty() && graph.inputs[0]->shape && !graph.inputs[0]->shape->empty() &&
      (*graph.inputs[0]->shape)[0].is_known())
    facts.static_batch = static_cast<int>((*graph.inputs[0]->shape)[0].value);
  return facts;
}

// "cpu", "cuda" (every visible GPU) or "cuda:0,1" (these GPUs) into the instance group.
Status parse_instance_device(const std::string& text, triton::RepositoryOptions& o) {
  if (text == "cpu") {
    o.kind = triton::InstanceKind::kCpu;
    return Status::Ok();
  }
  o.kind = triton::InstanceKind::kGpu;
  if (text == "cuda") return Status::Ok();
  const std::string prefix = "cuda:";
  if (text.rfind(prefix, 0) != 0)
    return error(StatusCode::kInvalidArgument, "--device must be cpu, cuda or cuda:N[,M...], got '", text, "'");
  std::string list = text.substr(prefix.size());
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = std::min(list.find(',', start), list.size());
    int id = -1;
    auto [ptr, ec] = std::from_chars(list.data() + start, list.data() + comma, id);
    if (ec != std::errc() || ptr != list.data() + comma || id < 0)
      return error(StatusCode::kInvalidArgument, "--device ", text, ": '", list.substr(start, comma - start),
                   "' is not a GPU index");
    o.gpus.push_back(id);
    start = comma + 1;
  }
  return Status::Ok();
}

Status triton_repo(const TritonRepoArgs& a) {
  const fs::path model(a.model);
  std::error_code ec;
  if (!fs::is_regular_file(model, ec)) return error(StatusCode::kNotFound, a.model, ": no such file");
  if (model.extension() != ".onnx" && model.extension() != ".kiln")
    return error(StatusCode::kInvalidArgument, a.model, ": expected an .onnx model or a .kiln engine");
  triton::RepositoryOptions o;
  o.name = a.name.empty() ? model.stem().string() : a.name;
  KILN_RETURN_IF_ERROR(parse_instance_device(a.device, o));
  KILN_ASSIGN_OR_RETURN(ModelFacts facts, model_facts(model));
  o.task = facts.task;
  if (o.task.empty())
    return error(StatusCode::kUnsupported, a.model, ": no YOLO task in the model's metadata (cannot be served)");
  o.instances = a.instances;
  o.max_batch_size = a.max_batch;
  o.queue_delay_us = a.queue_delay_us;
  if (!a.batch.empty()) {
    auto batch = parse_batch_profile(a.batch);
    if (!batch.ok()) return error(batch.status().code(), "--batch: ", batch.status().message());
    o.batch = *batch;
  } else if (facts.static_batch) {
    // A fixed-batch export runs a dynamic batch as several inferences of its own batch.
    o.batch = BatchProfile(*facts.static_batch);
  }
  KILN_ASSIGN_OR_RETURN(o.precision, precision_flag(a.precision));
  o.imgsz = a.imgsz, o.max_det = a.max_det;
  o.conf = a.conf, o.iou = a.iou;
  KILN_RETURN_IF_ERROR(triton::write_model_repository(model, a.out, o));
  const std::string kind = o.kind == triton::InstanceKind::kCpu ? "KIND_CPU" : "KIND_GPU";
  if (a.json) {
    const fs::path dir = fs::path(a.out) / o.name;
    std::cout << json_text(nlohmann::json{{"model", o.name},
                                          {"repository", a.out},
                                          {"config", (dir / "config.pbtxt").string()},
                                          {"task", o.task},
                                          {"kind", kind},
                                          {"instances", o.instances},
                                          {"max_batch_size", o.max_batch_size}},
                           2)
              << std::endl;
    return Status::Ok();
  }
  std::cout << "wrote " << (fs::path(a.out) / o.name).string() << " (" << o.task << ", backend kiln, "
            << (o.kind == triton::InstanceKind::kCpu ? "KIND_CPU" : "KIND_GPU") << ", max_batch_size "
            << o.max_batch_size << ")" << std::endl;
  return Status::Ok();
}

}  // namespace

Runner register_triton_repo(CLI::App& app) {
  auto a = std::make_shared<TritonRepoArgs>();
  CLI::App* cmd = app.add_subcommand("triton-repo", "Write a Triton Inference Server model repository (kiln backend)");
  cmd->add_option("--model", a->model, "ONNX model (Ultralytics export) or .kiln engine")->required();
  cmd->add_option("--out", a->out, "repository folder (created if missing)")->required();
  cmd->add_option("--name", a->name, "model name in the repository (default: the file's stem)");
  cmd->add_option("--device", a->device, "instances on cpu, cuda (every GPU) or cuda:0,1")->capture_default_str();
  cmd->add_option("--instances", a->instances, "model instances per device")->capture_default_str();
  cmd->add_option("--max-batch", a->max_batch, "images per dynamic batch (max_batch_size)")->capture_default_str();
  cmd->add_option("--queue-delay-us", a->queue_delay_us, "dynamic batching queue delay")->capture_default_str();
  cmd->add_option("--batch", a->batch,
                  "images per inference, N or MIN:OPT:MAX (default: 1:B:B for --max-batch B, or the model's fixed batch)");
  cmd->add_option("--imgsz", a->imgsz, "input size (default: the model's own)");
  cmd->add_option("--conf", a->conf, "confidence threshold (default 0.25)");
  cmd->add_option("--iou", a->iou, "NMS IoU threshold (default 0.7)");
  cmd->add_option("--max-det", a->max_det, "maximum detections per image (default 300)");
  cmd->add_option("--precision", a->precision, "fp32 | fp16 | tf32 (fp16 and tf32 need GPU instances)");
  cmd->add_flag("--json", a->json, "print what was written as JSON");
  return [a]() {
    Status st = triton_repo(*a);
    return st.ok() ? kExitOk : report_error("triton-repo", st);
  };
}

}  // namespace kiln::cli
