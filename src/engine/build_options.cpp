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
  if (parts.size() == 1) return BatchProfile{parts[0], parts[0], parts[0]};
  if (parts.size() != 3 || parts[0] > parts[1] || parts[1] > parts[2])
    return error(StatusCode::kInvalidArgument, "batch '", text, "': expected N or MIN:OPT:MAX with MIN <= OPT <= MAX");
  return BatchProfile{parts[0], parts[1], parts[2]};
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
