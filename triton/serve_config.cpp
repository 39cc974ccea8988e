#include "serve_config.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace kiln::triton {

namespace {

using json = nlohmann::json;

// A whole string as a number of type T, or nothing.
template <typename T>
bool parse_number(const std::string& text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && !text.empty();
}

template <typename T>
Status read_number(const std::string& model, const std::string& key, const std::string& text, T& out) {
  if (!parse_number(text, out))
    return error(StatusCode::kInvalidArgument, model, ": parameter ", key, " = '", text, "' is not a number");
  return Status::Ok();
}

template <typename T, typename V>
Status assign(T& out, Result<V> parsed) {
  if (!parsed.ok()) return parsed.status();
  out = std::move(parsed).value();
  return Status::Ok();
}

Status apply_parameter(const std::string& model, const std::string& key, const std::string& value, ServeConfig& c) {
  if (key == "conf") return read_number(model, key, value, c.predict.conf);
  if (key == "iou") return read_number(model, key, value, c.predict.iou);
  if (key == "max_det") return read_number(model, key, value, c.predict.max_det);
  if (key == "imgsz") return read_number(model, key, value, c.imgsz);
  if (key == "batch" || key == "precision") {
    Status st = key == "batch" ? assign(c.batch, parse_batch_profile(value)) : assign(c.precision, parse_precision(value));
    if (!st.ok()) return error(st.code(), model, ": parameter ", key, ": ", st.message());
    return Status::Ok();
  }
  return error(StatusCode::kInvalidArgument, model, ": unknown parameter '", key,
               "' (known: conf, iou, max_det, batch, imgsz, precision)");
}

Status check_ranges(const std::string& model, const ServeConfig& c) {
  if (!(c.predict.conf >= 0 && c.predict.conf <= 1))
    return error(StatusCode::kInvalidArgument, model, ": parameter conf must be in [0, 1], got ", c.predict.conf);
  if (!(c.predict.iou >= 0 && c.predict.iou <= 1))
    return error(StatusCode::kInvalidArgument, model, ": parameter iou must be in [0, 1], got ", c.predict.iou);
  if (c.predict.max_det < 1)
    return error(StatusCode::kInvalidArgument, model, ": parameter max_det must be at least 1, got ", c.predict.max_det);
  if (c.imgsz < 0)
    return error(StatusCode::kInvalidArgument, model, ": parameter imgsz must not be negative, got ", c.imgsz);
  return Status::Ok();
}

}  // namespace

Result<ServeConfig> parse_serve_config(const std::string& config_json) {
  json config = json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object())
    return error(StatusCode::kInvalidArgument, "model configuration is not a JSON object");
  const std::string model = config.value("name", std::string("model"));
  ServeConfig c;
  c.model_file = config.value("default_model_filename", std::string());
  if (c.model_file.empty())
    return error(StatusCode::kInvalidArgument, model, ": config.pbtxt needs default_model_filename (the .onnx or .kiln)");
  const json& mbs = config.value("max_batch_size", json(0));
  c.max_batch_size = mbs.is_number_integer() ? mbs.get<int>() : 0;
  if (c.max_batch_size < 1)
    return error(StatusCode::kInvalidArgument, model,
                 ": max_batch_size must be at least 1 (the kiln backend batches images on the first dim)");
  c.batch = BatchProfile(1, c.max_batch_size, c.max_batch_size);
  if (auto it = config.find("parameters"); it != config.end() && it->is_object())
    for (const auto& [key, value] : it->items()) {
      std::string text = value.is_object() ? value.value("string_value", std::string()) : std::string();
      KILN_RETURN_IF_ERROR(apply_parameter(model, key, text, c));
    }
  KILN_RETURN_IF_ERROR(check_ranges(model, c));
  return c;
}

Result<Device> instance_device(InstanceKind kind, int device_id) {
  if (kind == InstanceKind::kCpu) return Device::cpu();
  if (device_id < 0) return error(StatusCode::kInvalidArgument, "GPU instance without a device id (got ", device_id, ")");
  return Device::cuda(device_id);
}

Result<ModelOptions> instance_model_options(const ServeConfig& config, InstanceKind kind, int device_id) {
  KILN_ASSIGN_OR_RETURN(Device device, instance_device(kind, device_id));
  if (kind == InstanceKind::kCpu && config.precision && *config.precision != Precision::kFp32)
    return error(StatusCode::kInvalidArgument, "precision ", *config.precision,
                 " needs a GPU instance (KIND_GPU); this one is KIND_CPU");
  ModelOptions o;
  o.device = device;
  o.precision = config.precision;
  o.batch = config.batch;
  o.imgsz = config.imgsz;
  // A server asked for a GPU must not quietly serve from the CPU.
  o.strict_gpu = kind == InstanceKind::kGpu;
  return o;
}

}  // namespace kiln::triton
