#include "model_repository.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "core/file_util.h"
#include "tensor_names.h"

namespace kiln::triton {

namespace {

namespace fs = std::filesystem;

// The shortest text that reads back as the same value.
template <typename T>
std::string shortest(T value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
}

struct TensorSpec {
  const char* name;
  const char* type;
  const char* dims;
};

Result<std::vector<TensorSpec>> outputs_of(const std::string& task) {
  std::vector<TensorSpec> out = {{kOutputCount, "TYPE_INT32", "[ 1 ]"},
                                 {kOutputScores, "TYPE_FP32", "[ -1 ]"},
                                 {kOutputClasses, "TYPE_INT32", "[ -1 ]"}};
  if (task == "classify") return out;
  if (task != "detect" && task != "segment" && task != "pose" && task != "obb")
    return error(StatusCode::kInvalidArgument, "task '", task,
                 "' cannot be served (detect, segment, pose, obb or classify)");
  out.push_back({kOutputBoxes, "TYPE_FP32", "[ -1, 4 ]"});
  if (task == "segment") out.push_back({kOutputMasks, "TYPE_UINT8", "[ -1, -1, -1 ]"});
  if (task == "pose") out.push_back({kOutputKeypoints, "TYPE_FP32", "[ -1, -1, 3 ]"});
  if (task == "obb") out.push_back({kOutputAngles, "TYPE_FP32", "[ -1 ]"});
  return out;
}

void write_tensor(std::ostringstream& os, const TensorSpec& t, bool optional, bool last) {
  os << "  {\n    name: \"" << t.name << "\"\n    data_type: " << t.type << "\n    dims: " << t.dims << "\n";
  if (optional) os << "    optional: true\n";
  os << "  }" << (last ? "\n" : ",\n");
}

void write_parameter(std::ostringstream& os, const char* key, const std::string& value) {
  os << "parameters {\n  key: \"" << key << "\"\n  value: { string_value: \"" << value << "\" }\n}\n";
}

}  // namespace

Result<std::string> model_config_text(const RepositoryOptions& o, const std::string& model_file) {
  if (o.max_batch_size < 1)
    return error(StatusCode::kInvalidArgument, "max batch size must be at least 1, got ", o.max_batch_size);
  if (o.instances < 1) return error(StatusCode::kInvalidArgument, "instances must be at least 1, got ", o.instances);
  if (o.queue_delay_us < 0)
    return error(StatusCode::kInvalidArgument, "queue delay must not be negative, got ", o.queue_delay_us);
  KILN_ASSIGN_OR_RETURN(std::vector<TensorSpec> outputs, outputs_of(o.task));
  std::ostringstream os;
  os << "# Written by kiln triton-repo: " << o.task << " model served by the kiln backend.\n"
     << "name: \"" << o.name << "\"\nbackend: \"kiln\"\n"
     << "default_model_filename: \"" << model_file << "\"\n"
     << "max_batch_size: " << o.max_batch_size << "\n";
  os << "input [\n";
  write_tensor(os, {kInputImage, "TYPE_STRING", "[ 1 ]"}, true, false);
  write_tensor(os, {kInputFrame, "TYPE_UINT8", "[ -1, -1, 3 ]"}, true, false);
  write_tensor(os, {kInputTensor, "TYPE_FP32", "[ 3, -1, -1 ]"}, true, true);
  os << "]\noutput [\n";
  for (size_t i = 0; i < outputs.size(); ++i) write_tensor(os, outputs[i], false, i + 1 == outputs.size());
  os << "]\n";
  os << "dynamic_batching {\n  max_queue_delay_microseconds: " << o.queue_delay_us << "\n}\n";
  os << "instance_group [\n  {\n    count: " << o.instances << "\n    kind: "
     << (o.kind == InstanceKind::kGpu ? "KIND_GPU" : "KIND_CPU") << "\n";
  if (o.kind == InstanceKind::kGpu && !o.gpus.empty()) {
    os << "    gpus: [";
    for (size_t i = 0; i < o.gpus.size(); ++i) os << (i ? ", " : " ") << o.gpus[i];
    os << " ]\n";
  }
  os << "  }\n]\n";
  if (o.conf) write_parameter(os, "conf", shortest(*o.conf));
  if (o.iou) write_parameter(os, "iou", shortest(*o.iou));
  if (o.max_det) write_parameter(os, "max_det", std::to_string(*o.max_det));
  if (o.batch) write_parameter(os, "batch", o.batch->to_string());
  if (o.imgsz) write_parameter(os, "imgsz", std::to_string(*o.imgsz));
  if (o.precision) write_parameter(os, "precision", std::string(to_string(*o.precision)));
  return os.str();
}

Status write_model_repository(const fs::path& model, const fs::path& out, const RepositoryOptions& o) {
  if (o.name.empty() || o.name.find('/') != std::string::npos || o.name.front() == '.')
    return error(StatusCode::kInvalidArgument, "model name '", o.name, "' is not a folder name");
  const std::string model_file = "model" + model.extension().string();
  KILN_ASSIGN_OR_RETURN(std::string config, model_config_text(o, model_file));
  const fs::path final_dir = out / o.name;
  std::error_code ec;
  if (fs::exists(final_dir, ec))
    return error(StatusCode::kInvalidArgument, final_dir.string(), ": already exists (remove it or pick another --name)");
  // Built beside its final place, then renamed: a repository folder is whole or absent.
  const fs::path staging = out / ("." + o.name + ".tmp" + std::to_string(::getpid()));
  fs::remove_all(staging, ec);
  fs::create_directories(staging / "1", ec);
  if (ec) return error(StatusCode::kIoError, out.string(), ": cannot create folders: ", ec.message());
  auto fail = [&](Status st) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    return st;
  };
  Status st = write_file_atomic(staging / "config.pbtxt", config.data(), config.size());
  if (!st.ok()) return fail(st);
  fs::copy_file(model, staging / "1" / model_file, ec);
  if (ec) return fail(error(StatusCode::kIoError, model.string(), ": cannot copy into the repository: ", ec.message()));
  fs::rename(staging, final_dir, ec);
  if (ec) return fail(error(StatusCode::kIoError, final_dir.string(), ": cannot create: ", ec.message()));
  return Status::Ok();
}

}  // namespace kiln::triton
