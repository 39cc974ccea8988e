// libtriton_kiln.so: the Triton Inference Server backend entry points. Each model instance
// holds its own kiln::Model (on the CPU or on its instance group's GPU); a dynamic batch of
// requests runs as one Model::predict over all their images (letterbox, inference, decode
// and NMS) -- or one Model::predict_tensor per size of their preprocessed tensors -- and
// each request gets its own response or its own error. The encoded images of all the
// requests are decoded side by side first; Triton's API is called on the instance's thread only.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kiln/model.h"
#include "request_images.h"
#include "response_outputs.h"
#include "serve_config.h"
#include "triton_api.h"
#include "triton_status.h"

namespace kiln::triton {

namespace {

namespace fs = std::filesystem;

struct ModelState {
  std::string name;
  fs::path model_path;
  ServeConfig config;
};

struct InstanceState {
  ModelState* model = nullptr;
  Model kiln_model;
};

uint64_t now_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

Result<std::string> model_config_json(TRITONBACKEND_Model* model) {
  TRITONSERVER_Message* message = nullptr;
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_ModelConfig(model, 1, &message)));
  const char* base = nullptr;
  size_t size = 0;
  Status st = from_triton(TRITONSERVER_MessageSerializeToJson(message, &base, &size));
  std::string json = st.ok() ? std::string(base, size) : std::string();
  Status deleted = from_triton(TRITONSERVER_MessageDelete(message));
  KILN_RETURN_IF_ERROR(st);
  KILN_RETURN_IF_ERROR(deleted);
  return json;
}

Result<std::unique_ptr<ModelState>> load_model_state(TRITONBACKEND_Model* model) {
  auto state = std::make_unique<ModelState>();
  const char* name = nullptr;
  uint64_t version = 0;
  TRITONBACKEND_ArtifactType artifact = TRITONBACKEND_ARTIFACT_FILESYSTEM;
  const char* location = nullptr;
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_ModelName(model, &name)));
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_ModelVersion(model, &version)));
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_ModelRepository(model, &artifact, &location)));
  state->name = name;
  KILN_ASSIGN_OR_RETURN(std::string json, model_config_json(model));
  KILN_ASSIGN_OR_RETURN(state->config, parse_serve_config(json));
  state->model_path = fs::path(location) / std::to_string(version) / state->config.model_file;
  std::error_code ec;
  if (!fs::exists(state->model_path, ec))
    return error(StatusCode::kNotFound, state->model_path.string(), ": no such file (model ", state->name, ")");
  return state;
}

Result<InstanceKind> instance_kind(TRITONBACKEND_ModelInstance* instance) {
  TRITONSERVER_InstanceGroupKind kind = TRITONSERVER_INSTANCEGROUPKIND_AUTO;
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_ModelInstanceKind(instance, &kind)));
  if (kind == TRITONSERVER_INSTANCEGROUPKIND_CPU) return InstanceKind::kCpu;
  if (kind == TRITONSERVER_INSTANCEGROUPKIND_GPU) return InstanceKind::kGpu;
  return error(StatusCode::kUnsupported, "instance group kind ", static_cast<int>(kind),
               " is not served by kiln (use KIND_CPU or KIND_GPU)");
}

Result<std::unique_ptr<InstanceState>> load_instance_state(TRITONBACKEND_ModelInstance* instance) {
  TRITONBACKEND_Model* model = nullptr;
  void* model_state = nullptr;
  const char* name = nullptr;
  int32_t device_id = 0;
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_ModelInstanceModel(instance, &model)));
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_ModelState(model, &model_state)));
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_ModelInstanceName(instance, &name)));
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_ModelInstanceDeviceId(instance, &device_id)));
  KILN_ASSIGN_OR_RETURN(InstanceKind kind, instance_kind(instance));
  auto* ms = static_cast<ModelState*>(model_state);
  KILN_ASSIGN_OR_RETURN(ModelOptions options, instance_model_options(ms->config, kind, device_id));
  auto loaded = Model::load(ms->model_path, options);
  if (!loaded.ok()) return error(loaded.status().code(), name, ": ", loaded.status().message());
  const ModelInfo& info = loaded->info();
  if (info.task.empty())
    return error(StatusCode::kUnsupported, ms->model_path.string(), ": no YOLO task in the model's metadata");
  log(TRITONSERVER_LOG_INFO, std::string(name) + ": " + ms->model_path.string() + " (" + info.task + ") on " +
                                 info.device.to_string() + ", " + std::string(to_string(info.precision)) +
                                 ", batch " + options.batch.to_string() + (info.note.empty() ? "" : "; " + info.note));
  return std::make_unique<InstanceState>(InstanceState{ms, std::move(loaded).value()});
}

// Sends `response` for `request` (or an error response when `st` failed) and releases it.
void finish(TRITONBACKEND_ModelInstance* instance, TRITONBACKEND_Request* request, TRITONBACKEND_Response* response,
            const Status& st, uint64_t exec_start, uint64_t compute_start, uint64_t compute_end) {
  if (!response) {
    if (Status created = from_triton(TRITONBACKEND_ResponseNew(&response, request)); !created.ok())
      log(TRITONSERVER_LOG_ERROR, "cannot create a response: " + created.message());
  }
  if (response) {
    Status sent = from_triton(TRITONBACKEND_ResponseSend(response, TRITONSERVER_RESPONSE_COMPLETE_FINAL, to_triton(st)));
    if (!sent.ok()) log(TRITONSERVER_LOG_ERROR, "cannot send a response: " + sent.message());
  }
  Status reported = from_triton(TRITONBACKEND_ModelInstanceReportStatistics(instance, request, st.ok(), exec_start,
                                                                           compute_start, compute_end, now_ns()));
  if (!reported.ok()) log(TRITONSERVER_LOG_WARN, reported.message());
  Status released = from_triton(TRITONBACKEND_RequestRelease(request, TRITONSERVER_REQUEST_RELEASE_ALL));
  if (!released.ok()) log(TRITONSERVER_LOG_ERROR, "cannot release a request: " + released.message());
}

// The predictions of the requests that sent preprocessed tensors: those of one [3, H, W]
// run as one batch (a dynamic batch of them is one inference), in request order.
std::vector<Result<std::vector<Prediction>>> predict_tensors(Model& model, const PredictOptions& options,
                                                             std::vector<std::optional<RequestImages>>& inputs) {
  std::vector<Result<std::vector<Prediction>>> out(inputs.size(), std::vector<Prediction>{});
  std::vector<bool> done(inputs.size(), false);
  for (size_t r = 0; r < inputs.size(); ++r) {
    if (!inputs[r] || inputs[r]->tensor.shape.empty() || done[r]) continue;
    const std::vector<int64_t>& shape = inputs[r]->tensor.shape;
    std::vector<size_t> group;
    Tensor batch{{0, shape[1], shape[2], shape[3]}, {}};
    for (size_t s = r; s < inputs.size(); ++s) {
      if (!inputs[s] || done[s]) continue;
      const Tensor& t = inputs[s]->tensor;
      if (t.shape.empty() || !std::equal(t.shape.begin() + 1, t.shape.end(), shape.begin() + 1)) continue;
      group.push_back(s);
      done[s] = true;
      batch.shape[0] += t.shape[0];
      batch.data.insert(batch.data.end(), t.data.begin(), t.data.end());
    }
    Result<std::vector<Prediction>> predictions = model.predict_tensor(batch, options);
    size_t first = 0;
    for (size_t s : group) {
      const size_t n = static_cast<size_t>(inputs[s]->tensor.shape[0]);
      if (predictions.ok())
        out[s] = std::vector<Prediction>(predictions->begin() + static_cast<ptrdiff_t>(first),
                                         predictions->begin() + static_cast<ptrdiff_t>(first + n));
      else
        out[s] = predictions.status();
      first += n;
    }
  }
  return out;
}

void execute(TRITONBACKEND_ModelInstance* instance, InstanceState& state, TRITONBACKEND_Request** requests,
             uint32_t count) {
  const uint64_t exec_start = now_ns();
  // Each request's images, or why it was refused; the good ones' images run as one batch,
  // the preprocessed tensors as one batch per size.
  std::vector<std::optional<RequestImages>> inputs(count);
  std::vector<Status> failures(count);
  std::vector<ImageView> batch;
  size_t images = 0;
  for (uint32_t r = 0; r < count; ++r) {
    Result<RequestImages> request_images = read_request_images(requests[r]);
    if (request_images.ok())
      inputs[r] = std::move(request_images).value();
    else
      failures[r] = request_images.status();
  }
  const std::vector<Status> decoded = decode_request_images(inputs);
  for (uint32_t r = 0; r < count; ++r) {
    if (!decoded[r].ok()) {
      failures[r] = decoded[r];
      inputs[r].reset();
    }
    if (!inputs[r]) continue;
    batch.insert(batch.end(), inputs[r]->views.begin(), inputs[r]->views.end());
    images += inputs[r]->count();
  }
  const uint64_t compute_start = now_ns();
  const PredictOptions& options = state.model->config.predict;
  Result<std::vector<Prediction>> predictions = std::vector<Prediction>{};
  if (!batch.empty()) predictions = state.kiln_model.predict(batch, options);
  std::vector<Result<std::vector<Prediction>>> tensor_predictions =
      predict_tensors(state.kiln_model, options, inputs);
  const uint64_t compute_end = now_ns();
  size_t first = 0;
  for (uint32_t r = 0; r < count; ++r) {
    TRITONBACKEND_Response* response = nullptr;
    Status st = failures[r];
    std::span<const Prediction> mine;
    if (st.ok() && !inputs[r]->tensor.shape.empty()) {
      st = tensor_predictions[r].status();
      if (st.ok()) mine = *tensor_predictions[r];
    } else if (st.ok()) {
      st = predictions.status();
      const size_t n = inputs[r]->views.size();
      if (st.ok()) mine = std::span<const Prediction>(*predictions).subspan(first, n);
      first += n;
    }
    if (st.ok()) {
      st = from_triton(TRITONBACKEND_ResponseNew(&response, requests[r]));
      if (st.ok()) st = write_outputs(requests[r], response, mine, state.kiln_model.info().task);
      if (!st.ok() && response) {
        // A half-filled response is dropped; the request gets an error response instead.
        (void)from_triton(TRITONBACKEND_ResponseDelete(response));
        response = nullptr;
      }
    }
    finish(instance, requests[r], response, st, exec_start, compute_start, compute_end);
  }
  if (images > 0) {
    Status reported = from_triton(TRITONBACKEND_ModelInstanceReportBatchStatistics(
        instance, images, exec_start, compute_start, compute_end, now_ns()));
    if (!reported.ok()) log(TRITONSERVER_LOG_WARN, reported.message());
  }
}

}  // namespace

}  // namespace kiln::triton

using namespace kiln::triton;

extern "C" {

TRITONSERVER_Error* TRITONBACKEND_Initialize(TRITONBACKEND_Backend*) {
  uint32_t major = 0, minor = 0;
  if (TRITONSERVER_Error* e = TRITONBACKEND_ApiVersion(&major, &minor)) return e;
  if (major != kTritonBackendApiMajor || minor < kTritonBackendApiMinor)
    return to_triton(kiln::error(kiln::StatusCode::kUnsupported, "the kiln backend needs Triton backend API ",
                                 kTritonBackendApiMajor, ".", kTritonBackendApiMinor, "+, this server has ", major,
                                 ".", minor));
  return nullptr;
}

TRITONSERVER_Error* TRITONBACKEND_ModelInitialize(TRITONBACKEND_Model* model) {
  auto state = load_model_state(model);
  if (!state.ok()) return to_triton(state.status());
  if (TRITONSERVER_Error* e = TRITONBACKEND_ModelSetState(model, state->get())) return e;
  state->release();
  return nullptr;
}

TRITONSERVER_Error* TRITONBACKEND_ModelFinalize(TRITONBACKEND_Model* model) {
  void* state = nullptr;
  if (TRITONSERVER_Error* e = TRITONBACKEND_ModelState(model, &state)) return e;
  delete static_cast<ModelState*>(state);
  return nullptr;
}

TRITONSERVER_Error* TRITONBACKEND_ModelInstanceInitialize(TRITONBACKEND_ModelInstance* instance) {
  auto state = load_instance_state(instance);
  if (!state.ok()) return to_triton(state.status());
  if (TRITONSERVER_Error* e = TRITONBACKEND_ModelInstanceSetState(instance, state->get())) return e;
  state->release();
  return nullptr;
}

TRITONSERVER_Error* TRITONBACKEND_ModelInstanceFinalize(TRITONBACKEND_ModelInstance* instance) {
  void* state = nullptr;
  if (TRITONSERVER_Error* e = TRITONBACKEND_ModelInstanceState(instance, &state)) return e;
  delete static_cast<InstanceState*>(state);
  return nullptr;
}

TRITONSERVER_Error* TRITONBACKEND_ModelInstanceExecute(TRITONBACKEND_ModelInstance* instance,
                                                       TRITONBACKEND_Request** requests, const uint32_t request_count) {
  void* state = nullptr;
  if (TRITONSERVER_Error* e = TRITONBACKEND_ModelInstanceState(instance, &state)) return e;
  execute(instance, *static_cast<InstanceState*>(state), requests, request_count);
  return nullptr;
}

}  // extern "C"
