#include "engine/build_options.h"

#include <charconv>
#include <vector>

namespace kiln::engine {

std::string BatchProfile::to_string() const {
  return std::to_string(min) + ":" + std::to_string(opt) + ":" + std::to_string(max);
}

Result<BatchProfile> parse_batch_profile(const std::string& text) {
  std::vector<int64_t> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(':', start);
    std::string part = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    int64_t v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || p != part.data() + part.size() || v < 1)
      return error(StatusCode::kInvalidArgument, "batch '", text, "': expected N or MIN:OPT:MAX (positive integers)");
    parts.push_back(v);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (parts.size() == 1) {
    KILN_RETURN_IF_ERROR(check_input_size(0, parts[0]));
    return BatchProfile{parts[0], parts[0], parts[0]};
  }
  if (parts.size() != 3 || parts[0] > parts[1] || parts[1] > parts[2])
    return error(StatusCode::kInvalidArgument, "batch '", text, "': expected N or MIN:OPT:MAX with MIN <= OPT <= MAX");
  KILN_RETURN_IF_ERROR(check_input_size(0, parts[2]));
  return BatchProfile{parts[0], parts[1], parts[2]};
}

Status check_input_size(int64_t imgsz, int64_t batch) {
  if (imgsz < 0 || imgsz > kMaxImgsz)
    return error(StatusCode::kInvalidArgument, "imgsz ", imgsz, " out of range (1 to ", kMaxImgsz, ")");
  if (batch < 1 || batch > kMaxBatch)
    return error(StatusCode::kInvalidArgument, "batch ", batch, " out of range (1 to ", kMaxBatch, ")");
  if (imgsz > 0 && batch * imgsz * imgsz > kMaxBatchPixels)
    return error(StatusCode::kInvalidArgument, "batch ", batch, " at imgsz ", imgsz, " is too large (batch x imgsz^2 over ",
                 kMaxBatchPixels, " pixels)");
  return Status::Ok();
}

Status check_precision(const std::string& precision) {
  if (precision == "fp32" || precision == "fp16" || precision == "int8") return Status::Ok();
  return error(StatusCode::kInvalidArgument, "precision '", precision, "': expected fp32, fp16 or int8");
}

nlohmann::json to_json(const BuildOptions& o) {
  return {{"device", o.device.to_string()}, {"precision", o.precision}, {"batch", o.batch.to_string()},
          {"imgsz", o.imgsz}, {"workspace_gb", o.workspace_gb}};
}

}  // namespace kiln::engine
